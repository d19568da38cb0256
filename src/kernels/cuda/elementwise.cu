// Element-wise kernels of the CUDA forward pass.
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/cuda_util.cuh"

namespace ts::cuda {
namespace {

__global__ void EmbedBf16Kernel(const bf16* w, int64_t dim, const int32_t* tokens, float* out) {
  const int64_t r = blockIdx.x;
  const bf16* row = w + static_cast<int64_t>(tokens[r]) * dim;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x)
    out[r * dim + i] = __bfloat162float(row[i]);
}

__device__ float ToFloat(float v) { return v; }
__device__ float ToFloat(bf16 v) { return __bfloat162float(v); }

template <typename In>
__global__ void SiluMulKernel(const In* gu, int64_t num_tokens, int64_t inter, bf16* out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= num_tokens * inter) return;
  const int64_t t = i / inter, j = i % inter;
  const float g = ToFloat(gu[t * 2 * inter + j]), u = ToFloat(gu[t * 2 * inter + inter + j]);
  out[i] = __float2bfloat16_rn(g / (1.f + expf(-g)) * u);
}

template <typename In>
void LaunchSiluMul(const In* gu, int64_t num_tokens, int64_t inter, bf16* out,
                   cudaStream_t stream) {
  const int64_t n = num_tokens * inter;
  if (n == 0) return;
  SiluMulKernel<<<Blocks(n, 256), 256, 0, stream>>>(gu, num_tokens, inter, out);
}

__global__ void AddBiasKernel(float* x, const float* bias, int64_t num_rows, int64_t dim,
                              int64_t ld) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= num_rows * dim) return;
  x[(i / dim) * ld + i % dim] += bias[i % dim];
}

__global__ void AddInPlaceKernel(float* x, const float* y, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] += y[i];
}

}  // namespace

void EmbedBf16(const bf16* w, int64_t dim, const int32_t* tokens, int64_t num_tokens, float* out,
               cudaStream_t stream) {
  if (num_tokens == 0) return;
  EmbedBf16Kernel<<<static_cast<unsigned>(num_tokens), 256, 0, stream>>>(w, dim, tokens, out);
}

void SiluMul(const float* gu, int64_t num_tokens, int64_t inter, bf16* out, cudaStream_t stream) {
  LaunchSiluMul(gu, num_tokens, inter, out, stream);
}

void SiluMul(const bf16* gu, int64_t num_tokens, int64_t inter, bf16* out, cudaStream_t stream) {
  LaunchSiluMul(gu, num_tokens, inter, out, stream);
}

void AddBias(float* x, const float* bias, int64_t num_rows, int64_t dim, int64_t ld,
             cudaStream_t stream) {
  const int64_t n = num_rows * dim;
  if (n == 0) return;
  AddBiasKernel<<<Blocks(n, 256), 256, 0, stream>>>(x, bias, num_rows, dim, ld);
}

void AddInPlace(float* x, const float* y, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  AddInPlaceKernel<<<Blocks(n, 256), 256, 0, stream>>>(x, y, n);
}

}  // namespace ts::cuda
