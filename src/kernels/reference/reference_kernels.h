// Plain scalar kernels: the test oracle for every optimized kernel. Written for clarity, with
// double accumulation where that makes them a better reference. Never used in serving.
#pragma once

#include <cstdint>

#include "kernels/weight_matrix.h"

namespace ts::reference {

// Element (row, col) of w as float (dequantized for quantized formats).
float WeightAt(const WeightMatrix& w, int64_t row, int64_t col);

// y[t][n] = sum_k x[t][k] * w[n][k]   x: [T][K], y: [T][N]
void MatMul(const float* x, int64_t num_rows, const WeightMatrix& w, float* y);

// out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * weight   x, out: [T][D]
void RmsNorm(const float* x, const float* weight, int64_t num_rows, int64_t dim, float eps,
             float* out);

// Rotary embedding, rotate-half form (Hugging Face Llama/Qwen): for i < D/2 the pair
// (x[i], x[i + D/2]) is rotated by positions[t] * inv_freq[i].   x: [T][H][D] in place.
void Rope(float* x, const int32_t* positions, int64_t num_rows, int64_t num_heads,
          int64_t head_dim, const float* inv_freq);

// out[t][i] = silu(gate[t][i]) * up[t][i]
void SiluMul(const float* gate, const float* up, int64_t n, float* out);

}  // namespace ts::reference
