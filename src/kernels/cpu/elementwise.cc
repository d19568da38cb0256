#include "kernels/elementwise.h"

#include <cmath>

#include "kernels/cpu/simd_util.h"

namespace ts {

void RmsNorm(const float* x, const float* weight, int64_t num_rows, int64_t dim, float eps,
             float* out) {
  for (int64_t t = 0; t < num_rows; ++t) {
    const float* xr = x + t * dim;
    float* o = out + t * dim;
    const float mean_sq = cpu::SumSquares(xr, dim) / static_cast<float>(dim);
    const float inv = 1.f / std::sqrt(mean_sq + eps);
    for (int64_t i = 0; i < dim; ++i) o[i] = weight[i] * (xr[i] * inv);
  }
}

void RopeInvFreq(int64_t head_dim, float theta, const RopeScaling& scaling, float* inv_freq) {
  const int64_t half = head_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    inv_freq[i] = 1.f / std::pow(theta, exponent);
  }
  if (scaling.factor <= 0.f) return;
  // Llama 3: keep high frequencies, divide low ones by factor, blend in between.
  constexpr float kPi = 3.14159265358979323846f;
  const float low_wavelen = scaling.original_max_position / scaling.low_freq_factor;
  const float high_wavelen = scaling.original_max_position / scaling.high_freq_factor;
  for (int64_t i = 0; i < half; ++i) {
    const float wavelen = 2.f * kPi / inv_freq[i];
    if (wavelen < high_wavelen) continue;
    if (wavelen > low_wavelen) {
      inv_freq[i] /= scaling.factor;
      continue;
    }
    const float smooth = (scaling.original_max_position / wavelen - scaling.low_freq_factor) /
                         (scaling.high_freq_factor - scaling.low_freq_factor);
    inv_freq[i] = (1.f - smooth) * inv_freq[i] / scaling.factor + smooth * inv_freq[i];
  }
}

void Rope(float* x, const int32_t* positions, int64_t num_rows, int64_t num_heads,
          int64_t head_dim, const float* inv_freq) {
  const int64_t half = head_dim / 2;
  float cos_buf[2048], sin_buf[2048];
  for (int64_t t = 0; t < num_rows; ++t) {
    // Angles in float32 as Hugging Face does (position * inv_freq), then cos/sin.
    for (int64_t i = 0; i < half; ++i) {
      const float angle = static_cast<float>(positions[t]) * inv_freq[i];
      cos_buf[i] = std::cos(angle);
      sin_buf[i] = std::sin(angle);
    }
    for (int64_t h = 0; h < num_heads; ++h) {
      float* v = x + (t * num_heads + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * cos_buf[i] - b * sin_buf[i];
        v[i + half] = b * cos_buf[i] + a * sin_buf[i];
      }
    }
  }
}

void SiluMul(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.f + cpu::Exp(-gate[i])) * up[i];
}

void AddInPlace(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

void AddBias(float* x, const float* bias, int64_t num_rows, int64_t dim) {
  for (int64_t t = 0; t < num_rows; ++t) AddInPlace(x + t * dim, bias, dim);
}

}  // namespace ts
