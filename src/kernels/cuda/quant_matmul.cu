// Small-batch products and quantized weights on the GPU: a GEMV for up to kMaxGemvTokens
// tokens that reads the weights once, 16 bytes a lane at a time (MLX q4/q8, dequantized in
// registers, or plain bf16), dequantization to bf16 slabs for cuBLAS at larger batches, and
// embedding rows.
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/cuda_util.cuh"

namespace ts::cuda {
namespace {

constexpr int kGemvWarps = 8;  // rows per thread block

struct alignas(16) Vec8 {  // eight bf16, one 16-byte store
  bf16 v[8];
};

// Element j of a packed row (low bits first within each little-endian word).
__device__ __forceinline__ int QuantAt(const uint8_t* row, int bits, int64_t j) {
  if (bits == 8) return row[j];
  const uint8_t b = row[j / 2];
  return (j % 2 == 0) ? (b & 0xF) : (b >> 4);
}

// One warp per output row. A lane takes 16 bytes of weights at a time (32 elements at 4 bits,
// 16 at 8, 8 bf16 ones at kBits 16); a quantization group (a multiple of 32) holds each
// 16-byte piece whole.
template <int kBits, int kTokens>
__global__ void __launch_bounds__(kGemvWarps * 32)
    GemvKernel(const bf16* x, QuantMatrix w, float* y, int64_t ldy) {
  const int lane = threadIdx.x % 32;
  const int64_t n = static_cast<int64_t>(blockIdx.x) * kGemvWarps + threadIdx.x / 32;
  if (n >= w.rows) return;
  constexpr int kPerChunk = 16 * 8 / kBits;
  const int64_t K = w.cols;
  const int64_t groups = kBits == 16 ? 0 : K / w.group_size;
  const uint8_t* row = w.q + n * (K * kBits / 8);
  float acc[kTokens];
#pragma unroll
  for (int t = 0; t < kTokens; ++t) acc[t] = 0.f;
#pragma unroll 4
  for (int64_t k0 = static_cast<int64_t>(lane) * kPerChunk; k0 < K; k0 += 32 * kPerChunk) {
    const uint4 packed = *reinterpret_cast<const uint4*>(row + k0 * kBits / 8);
    float wv[kPerChunk];
    if constexpr (kBits == 16) {
      const __nv_bfloat162* w2 = reinterpret_cast<const __nv_bfloat162*>(&packed);
#pragma unroll
      for (int p = 0; p < 4; ++p) {
        const float2 f = __bfloat1622float2(w2[p]);
        wv[2 * p] = f.x;
        wv[2 * p + 1] = f.y;
      }
    } else {
      const uint32_t words[4] = {packed.x, packed.y, packed.z, packed.w};
      const int64_t g = n * groups + k0 / w.group_size;
      const float scale = w.scales[g], bias = w.biases[g];
#pragma unroll
      for (int e = 0; e < kPerChunk; ++e) {
        const uint32_t word = words[e * kBits / 32];
        const int shift = (e * kBits) % 32;
        wv[e] = scale * static_cast<float>((word >> shift) & ((1u << kBits) - 1)) + bias;
      }
    }
#pragma unroll
    for (int t = 0; t < kTokens; ++t) {
      const bf16* xr = x + t * K + k0;
      float sum = 0.f;
#pragma unroll
      for (int e = 0; e < kPerChunk; e += 8) {
        const uint4 xp = *reinterpret_cast<const uint4*>(xr + e);
        const __nv_bfloat162* x2 = reinterpret_cast<const __nv_bfloat162*>(&xp);
#pragma unroll
        for (int p = 0; p < 4; ++p) {
          const float2 f = __bfloat1622float2(x2[p]);
          sum += wv[e + 2 * p] * f.x + wv[e + 2 * p + 1] * f.y;
        }
      }
      acc[t] += sum;
    }
  }
#pragma unroll
  for (int t = 0; t < kTokens; ++t) {
    const float v = WarpSum(acc[t]);
    if (lane == 0) y[t * ldy + n] = v;
  }
}

// One thread per 16 bytes of packed weights (32 elements at 4 bits, 16 at 8): one load, the
// group's scale and bias, and the row's bf16 written 16 bytes at a time.
template <int kBits>
__global__ void DequantizeKernel(QuantMatrix w, int64_t row_begin, int64_t row_end, bf16* out) {
  constexpr int kPerChunk = 16 * 8 / kBits;
  const int64_t K = w.cols, groups = K / w.group_size, chunks_per_row = K / kPerChunk;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= (row_end - row_begin) * chunks_per_row) return;
  const int64_t n = row_begin + i / chunks_per_row, k0 = (i % chunks_per_row) * kPerChunk;
  const uint4 packed = *reinterpret_cast<const uint4*>(w.q + n * (K * kBits / 8) + k0 * kBits / 8);
  const uint32_t words[4] = {packed.x, packed.y, packed.z, packed.w};
  const int64_t g = n * groups + k0 / w.group_size;
  const float scale = w.scales[g], bias = w.biases[g];
  bf16* dst = out + (n - row_begin) * K + k0;
#pragma unroll
  for (int e0 = 0; e0 < kPerChunk; e0 += 8) {
    Vec8 v;
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      const uint32_t word = words[(e0 + e) * kBits / 32];
      const int shift = ((e0 + e) * kBits) % 32;
      v.v[e] = __float2bfloat16_rn(
          scale * static_cast<float>((word >> shift) & ((1u << kBits) - 1)) + bias);
    }
    *reinterpret_cast<Vec8*>(dst + e0) = v;
  }
}

__global__ void EmbedQuantKernel(QuantMatrix w, const int32_t* tokens, float* out) {
  const int64_t r = blockIdx.x, K = w.cols, groups = K / w.group_size;
  const int64_t n = tokens[r];
  const uint8_t* row = w.q + n * (K * w.bits / 8);
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) {
    const int64_t g = n * groups + k / w.group_size;
    out[r * K + k] = w.scales[g] * static_cast<float>(QuantAt(row, w.bits, k)) + w.biases[g];
  }
}

template <int kBits>
void LaunchGemv(const bf16* x, int64_t num_tokens, const QuantMatrix& w, float* y, int64_t ldy,
                cudaStream_t stream) {
  const unsigned grid = Blocks(w.rows, kGemvWarps);
  constexpr unsigned kThreads = kGemvWarps * 32;
  switch (num_tokens) {
    case 1:
      GemvKernel<kBits, 1><<<grid, kThreads, 0, stream>>>(x, w, y, ldy);
      break;
    case 2:
      GemvKernel<kBits, 2><<<grid, kThreads, 0, stream>>>(x, w, y, ldy);
      break;
    case 3:
      GemvKernel<kBits, 3><<<grid, kThreads, 0, stream>>>(x, w, y, ldy);
      break;
    case 4:
      GemvKernel<kBits, 4><<<grid, kThreads, 0, stream>>>(x, w, y, ldy);
      break;
    case 5:
      GemvKernel<kBits, 5><<<grid, kThreads, 0, stream>>>(x, w, y, ldy);
      break;
    case 6:
      GemvKernel<kBits, 6><<<grid, kThreads, 0, stream>>>(x, w, y, ldy);
      break;
    case 7:
      GemvKernel<kBits, 7><<<grid, kThreads, 0, stream>>>(x, w, y, ldy);
      break;
    default:
      GemvKernel<kBits, 8><<<grid, kThreads, 0, stream>>>(x, w, y, ldy);
      break;
  }
}

}  // namespace

void QuantGemv(const bf16* x, int64_t num_tokens, const QuantMatrix& w, float* y, int64_t ldy,
               cudaStream_t stream) {
  CHECK(num_tokens >= 1 && num_tokens <= kMaxGemvTokens) << num_tokens;
  CHECK(w.group_size % 32 == 0 && w.cols % 32 == 0) << w.group_size << " " << w.cols;
  if (w.bits == 8) {
    LaunchGemv<8>(x, num_tokens, w, y, ldy, stream);
  } else {
    LaunchGemv<4>(x, num_tokens, w, y, ldy, stream);
  }
}

void DenseGemv(const bf16* x, int64_t num_tokens, const bf16* w, int64_t rows, int64_t cols,
               float* y, int64_t ldy, cudaStream_t stream) {
  CHECK(num_tokens >= 1 && num_tokens <= kMaxGemvTokens) << num_tokens;
  CHECK(cols % 8 == 0) << cols;
  QuantMatrix m;
  m.q = reinterpret_cast<const uint8_t*>(w);
  m.rows = rows;
  m.cols = cols;
  m.bits = 16;
  LaunchGemv<16>(x, num_tokens, m, y, ldy, stream);
}

void Dequantize(const QuantMatrix& w, int64_t row_begin, int64_t row_end, bf16* out,
                cudaStream_t stream) {
  const int64_t chunks = (row_end - row_begin) * w.cols * w.bits / 128;
  if (chunks == 0) return;
  if (w.bits == 8) {
    DequantizeKernel<8><<<Blocks(chunks, 256), 256, 0, stream>>>(w, row_begin, row_end, out);
  } else {
    DequantizeKernel<4><<<Blocks(chunks, 256), 256, 0, stream>>>(w, row_begin, row_end, out);
  }
}

void EmbedQuant(const QuantMatrix& w, const int32_t* tokens, int64_t num_tokens, float* out,
                cudaStream_t stream) {
  if (num_tokens == 0) return;
  EmbedQuantKernel<<<static_cast<unsigned>(num_tokens), 256, 0, stream>>>(w, tokens, out);
}

}  // namespace ts::cuda
