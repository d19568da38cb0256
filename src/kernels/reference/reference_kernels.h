// Plain scalar kernels: the test oracle for every optimized kernel. Written for clarity, with
// double accumulation where that makes them a better reference. Never in a forward pass (the
// quantized-weight accessors also serve load-time repacking).
#pragma once

#include <cstdint>

#include "kernels/weight_matrix.h"

namespace ts::reference {

// Element (row, col) of w as float (dequantized for quantized formats).
float WeightAt(const WeightMatrix& w, int64_t row, int64_t col);

// Quantized formats: the stored integer of element (row, col), and the scale and bias of
// (row, group).
int QuantAt(const WeightMatrix& w, int64_t row, int64_t col);
float ScaleAt(const WeightMatrix& w, int64_t row, int64_t group);
float BiasAt(const WeightMatrix& w, int64_t row, int64_t group);

// y[t][n] = sum_k x[t][k] * w[n][k]   x: [T][K], y: [T][N]
void MatMul(const float* x, int64_t num_rows, const WeightMatrix& w, float* y);

// Each row of x cut into the weight's quantization groups and rounded per group to signed
// integers of `bits` (8 or 16) bits: with L = 2^(bits-1) - 1, scale = max|x| / L and
// q = round-half-even(x * (L / max|x|)); sum = the group's float sum.
// q: [T][K], scale and sum: [T][K / group_size].
void QuantizeActivations(const float* x, int64_t num_rows, int64_t cols, int64_t group_size,
                         int bits, int32_t* q, float* scale, float* sum);

// The product of quantized weights by activations rounded as above (what the VNNI kernels
// compute): y[t][n] = sum_g scale_w * scale_x * sum_k q_w * q_x + bias_w * sum_x.
void MatMulQuantizedActivations(const float* x, int64_t num_rows, const WeightMatrix& w, int bits,
                                float* y);

// What the AVX512-BF16 kernel computes: x rounded to bf16 (F32ToBf16) times w, summed exactly
// (double): y[t][n] = sum_k bf16(x[t][k]) * w[n][k].
void MatMulBf16Activations(const float* x, int64_t num_rows, const WeightMatrix& w, float* y);

// out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * weight   x, out: [T][D]
void RmsNorm(const float* x, const float* weight, int64_t num_rows, int64_t dim, float eps,
             float* out);

// Rotary embedding, rotate-half form (Hugging Face Llama/Qwen): for i < D/2 the pair
// (x[i], x[i + D/2]) is rotated by positions[t] * inv_freq[i].   x: [T][H][D] in place.
void Rope(float* x, const int32_t* positions, int64_t num_rows, int64_t num_heads, int64_t head_dim,
          const float* inv_freq);

// out[t][i] = silu(gate[t][i]) * up[t][i]
void SiluMul(const float* gate, const float* up, int64_t n, float* out);

}  // namespace ts::reference
