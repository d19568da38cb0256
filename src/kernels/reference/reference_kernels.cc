#include "kernels/reference/reference_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/half.h"

namespace ts::reference {
namespace {

float LoadScale(const void* base, ScaleType type, int64_t index) {
  switch (type) {
    case ScaleType::kF32:
      return static_cast<const float*>(base)[index];
    case ScaleType::kF16:
      return F16ToF32(static_cast<const uint16_t*>(base)[index]);
    case ScaleType::kBf16:
      return Bf16ToF32(static_cast<const uint16_t*>(base)[index]);
  }
  return 0.f;
}

}  // namespace

float WeightAt(const WeightMatrix& w, int64_t row, int64_t col) {
  const auto* bytes =
      static_cast<const uint8_t*>(w.data) + row * static_cast<int64_t>(w.row_bytes());
  switch (w.format) {
    case WeightFormat::kF32: {
      float f;
      std::memcpy(&f, bytes + col * 4, 4);
      return f;
    }
    case WeightFormat::kF16:
    case WeightFormat::kBf16: {
      uint16_t h;
      std::memcpy(&h, bytes + col * 2, 2);
      return w.format == WeightFormat::kF16 ? F16ToF32(h) : Bf16ToF32(h);
    }
    case WeightFormat::kQ8:
    case WeightFormat::kQ4:
      return ScaleAt(w, row, col / w.group_size) * static_cast<float>(QuantAt(w, row, col)) +
             BiasAt(w, row, col / w.group_size);
  }
  return 0.f;
}

int QuantAt(const WeightMatrix& w, int64_t row, int64_t col) {
  const auto* bytes =
      static_cast<const uint8_t*>(w.data) + row * static_cast<int64_t>(w.row_bytes());
  return w.format == WeightFormat::kQ8 ? bytes[col] : (bytes[col / 2] >> (4 * (col % 2))) & 0xf;
}

float ScaleAt(const WeightMatrix& w, int64_t row, int64_t group) {
  return LoadScale(w.scales, w.scale_type, row * (w.cols / w.group_size) + group);
}

float BiasAt(const WeightMatrix& w, int64_t row, int64_t group) {
  return LoadScale(w.biases, w.scale_type, row * (w.cols / w.group_size) + group);
}

void MatMul(const float* x, int64_t num_rows, const WeightMatrix& w, float* y) {
  for (int64_t t = 0; t < num_rows; ++t) {
    for (int64_t n = 0; n < w.rows; ++n) {
      double acc = 0;
      for (int64_t k = 0; k < w.cols; ++k) {
        acc += static_cast<double>(x[t * w.cols + k]) * WeightAt(w, n, k);
      }
      y[t * w.rows + n] = static_cast<float>(acc);
    }
  }
}

void QuantizeActivations(const float* x, int64_t num_rows, int64_t cols, int64_t group_size,
                         int bits, int32_t* q, float* scale, float* sum) {
  const int64_t groups = cols / group_size;
  const float limit = static_cast<float>((1 << (bits - 1)) - 1);
  for (int64_t t = 0; t < num_rows; ++t) {
    for (int64_t g = 0; g < groups; ++g) {
      const float* xg = x + t * cols + g * group_size;
      float max_abs = 0.f;
      double s = 0;
      for (int64_t k = 0; k < group_size; ++k) {
        max_abs = std::max(max_abs, std::fabs(xg[k]));
        s += xg[k];
      }
      const float inv = max_abs > 0.f ? limit / max_abs : 0.f;
      for (int64_t k = 0; k < group_size; ++k) {
        q[t * cols + g * group_size + k] = static_cast<int32_t>(std::nearbyint(xg[k] * inv));
      }
      scale[t * groups + g] = max_abs / limit;
      sum[t * groups + g] = static_cast<float>(s);
    }
  }
}

void MatMulBf16Activations(const float* x, int64_t num_rows, const WeightMatrix& w, float* y) {
  for (int64_t t = 0; t < num_rows; ++t) {
    for (int64_t n = 0; n < w.rows; ++n) {
      double sum = 0;
      for (int64_t k = 0; k < w.cols; ++k) {
        sum += static_cast<double>(Bf16ToF32(F32ToBf16(x[t * w.cols + k]))) * WeightAt(w, n, k);
      }
      y[t * w.rows + n] = static_cast<float>(sum);
    }
  }
}

void MatMulQuantizedActivations(const float* x, int64_t num_rows, const WeightMatrix& w, int bits,
                                float* y) {
  const int64_t K = w.cols, G = w.group_size, groups = K / G;
  std::vector<int32_t> q(static_cast<size_t>(num_rows * K));
  std::vector<float> scale(static_cast<size_t>(num_rows * groups)), sum(scale.size());
  QuantizeActivations(x, num_rows, K, G, bits, q.data(), scale.data(), sum.data());
  for (int64_t t = 0; t < num_rows; ++t) {
    for (int64_t n = 0; n < w.rows; ++n) {
      double acc = 0;
      for (int64_t g = 0; g < groups; ++g) {
        int64_t dot = 0;
        for (int64_t k = g * G; k < (g + 1) * G; ++k) dot += QuantAt(w, n, k) * q[t * K + k];
        acc += static_cast<double>(ScaleAt(w, n, g)) * scale[t * groups + g] *
                   static_cast<double>(dot) +
               static_cast<double>(BiasAt(w, n, g)) * sum[t * groups + g];
      }
      y[t * w.rows + n] = static_cast<float>(acc);
    }
  }
}

void RmsNorm(const float* x, const float* weight, int64_t num_rows, int64_t dim, float eps,
             float* out) {
  for (int64_t t = 0; t < num_rows; ++t) {
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(x[t * dim + i]) * x[t * dim + i];
    double inv = 1.0 / std::sqrt(ss / static_cast<double>(dim) + eps);
    for (int64_t i = 0; i < dim; ++i) {
      out[t * dim + i] = static_cast<float>(x[t * dim + i] * inv * weight[i]);
    }
  }
}

void Rope(float* x, const int32_t* positions, int64_t num_rows, int64_t num_heads, int64_t head_dim,
          const float* inv_freq) {
  const int64_t half = head_dim / 2;
  for (int64_t t = 0; t < num_rows; ++t) {
    for (int64_t h = 0; h < num_heads; ++h) {
      float* v = x + (t * num_heads + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        double angle = static_cast<double>(static_cast<float>(positions[t]) * inv_freq[i]);
        double c = std::cos(angle), s = std::sin(angle);
        double a = v[i], b = v[i + half];
        v[i] = static_cast<float>(a * c - b * s);
        v[i + half] = static_cast<float>(b * c + a * s);
      }
    }
  }
}

void SiluMul(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    double g = gate[i];
    out[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * up[i]);
  }
}

}  // namespace ts::reference
