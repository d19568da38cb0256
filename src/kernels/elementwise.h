// Row-wise and element-wise ops of the forward pass. Cheap next to matmul and attention, so
// they run on the calling thread. Reductions use a fixed order (batch invariant).
#pragma once

#include <cstdint>

namespace ts {

// out[t] = x[t] * rsqrt(mean(x[t]^2) + eps) * weight, over rows of dim. out may alias x.
void RmsNorm(const float* x, const float* weight, int64_t num_rows, int64_t dim, float eps,
             float* out);

// Inverse frequencies of rotary embeddings as Hugging Face computes them in float32,
// inv_freq[i] = 1 / theta^(2i / head_dim), then Llama 3 scaling when factor > 0.
struct RopeScaling {
  float factor = 0.f;  // 0: none
  float low_freq_factor = 1.f;
  float high_freq_factor = 4.f;
  float original_max_position = 8192.f;
};
void RopeInvFreq(int64_t head_dim, float theta, const RopeScaling& scaling, float* inv_freq);

// Rotate-half rotary embedding in place.  x: [T][num_heads][head_dim]
void Rope(float* x, const int32_t* positions, int64_t num_rows, int64_t num_heads,
          int64_t head_dim, const float* inv_freq);

// out[i] = silu(gate[i]) * up[i]
void SiluMul(const float* gate, const float* up, int64_t n, float* out);

// x[i] += y[i]
void AddInPlace(float* x, const float* y, int64_t n);

// x[t][i] += bias[i]
void AddBias(float* x, const float* bias, int64_t num_rows, int64_t dim);

}  // namespace ts
