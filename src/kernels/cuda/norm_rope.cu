// RMSNorm with the residual add, and the q/k/v epilogue (bias, q/k norm, RoPE, KV write).
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/cuda_util.cuh"

namespace ts::cuda {
namespace {

// Threads a row. A decode step's few rows are bound by the latency of each thread's chain of
// loads: a row of 4096 on 256 threads is 16 loads deep (~16 us a norm on an H200), on 1024 it
// is 4. A prefill's thousands of rows fill the GPU either way and run faster at 256 (1 % of a
// qwen3-8b 8k prefill).
int NormThreads(int64_t num_rows) { return num_rows <= 64 ? 1024 : 256; }

__global__ void AddRmsNormKernel(float* __restrict__ x, const float* __restrict__ add,
                                 const float* __restrict__ weight, const int32_t* rows,
                                 int64_t dim, float eps, bf16* __restrict__ out) {
  const int64_t r = blockIdx.x;
  float* row = x + (rows != nullptr ? rows[r] : r) * dim;
  const float* a = add != nullptr ? add + r * dim : nullptr;
  float ss = 0.f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
    float v = row[i];
    if (a != nullptr) {
      v += a[i];
      row[i] = v;
    }
    ss += v * v;
  }
  const float inv = rsqrtf(BlockSum(ss) / static_cast<float>(dim) + eps);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
    out[r * dim + i] = __float2bfloat16_rn(row[i] * inv * weight[i]);
  }
}

// One warp per head (q heads, then k heads, then v heads) of one token; the head's vector
// goes through shared memory so that RoPE can pair element i with i + D/2.
template <typename KvT>
__global__ void QkvKernel(const float* qkv, QkvArgs a, float* q_out, KvT* k_pool, KvT* v_pool) {
  extern __shared__ float smem[];
  const int64_t t = blockIdx.x;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  const int D = a.head_dim, half = D / 2;
  const int heads = a.num_heads + 2 * a.num_kv_heads;
  float* v = smem + warp * D;
  const float* row = qkv + t * static_cast<int64_t>(heads) * D;
  const int32_t pos = a.positions[t];
  const int64_t slot = a.slot[t];
  const int64_t block = slot / a.block_size, offset = slot % a.block_size;
  for (int h = warp; h < heads; h += warps) {
    const bool is_q = h < a.num_heads, is_k = !is_q && h < a.num_heads + a.num_kv_heads;
    float ss = 0.f;
    for (int i = lane; i < D; i += 32) {
      float x = row[h * D + i];
      if (a.bias != nullptr) x += a.bias[h * D + i];
      v[i] = x;
      ss += x * x;
    }
    const float* norm = is_q ? a.q_norm : (is_k ? a.k_norm : nullptr);
    if (norm != nullptr) {
      const float inv = rsqrtf(WarpSum(ss) / static_cast<float>(D) + a.eps);
      for (int i = lane; i < D; i += 32) v[i] = v[i] * inv * norm[i];
    }
    __syncwarp();
    if (is_q || is_k) {
      for (int i = lane; i < half; i += 32) {
        float s, c;
        sincosf(static_cast<float>(pos) * a.inv_freq[i], &s, &c);
        const float x0 = v[i], x1 = v[i + half];
        v[i] = x0 * c - x1 * s;
        v[i + half] = x1 * c + x0 * s;
      }
      __syncwarp();
    }
    if (is_q) {
      for (int i = lane; i < D; i += 32) q_out[(t * a.num_heads + h) * D + i] = v[i];
    } else {
      const int kvh = is_k ? h - a.num_heads : h - a.num_heads - a.num_kv_heads;
      KvT* dst =
          (is_k ? k_pool : v_pool) + ((block * a.num_kv_heads + kvh) * a.block_size + offset) * D;
      for (int i = lane; i < D; i += 32) dst[i] = FromFloat<KvT>(v[i]);
    }
    __syncwarp();
  }
}

}  // namespace

void AddRmsNorm(float* x, const float* add, const float* weight, const int32_t* rows,
                int64_t num_rows, int64_t dim, float eps, bf16* out, cudaStream_t stream) {
  if (num_rows == 0) return;
  AddRmsNormKernel<<<static_cast<unsigned>(num_rows), NormThreads(num_rows), 0, stream>>>(
      x, add, weight, rows, dim, eps, out);
}

void QkvRopeWriteKv(const float* qkv, int64_t num_tokens, const QkvArgs& args, float* q_out,
                    void* k_pool, void* v_pool, cudaStream_t stream) {
  if (num_tokens == 0) return;
  // One token's heads spread over 16 warps (qwen3-8b: 48 heads, 3 a warp): with 8, a decode
  // step's kernel waited on 6 heads' loads in a row.
  constexpr int kWarps = 16;
  const size_t smem = sizeof(float) * kWarps * static_cast<size_t>(args.head_dim);
  DispatchKv(args.kv_dtype, [&](auto type) {
    using KvT = decltype(type);
    QkvKernel<KvT><<<static_cast<unsigned>(num_tokens), kWarps * 32, smem, stream>>>(
        qkv, args, q_out, static_cast<KvT*>(k_pool), static_cast<KvT*>(v_pool));
  });
}

}  // namespace ts::cuda
