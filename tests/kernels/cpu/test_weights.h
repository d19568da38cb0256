// Random weight matrices in every stored format, for kernel tests.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "base/half.h"
#include "kernels/weight_matrix.h"

namespace ts::testing {

// Owns the bytes behind a WeightMatrix.
struct OwnedWeights {
  std::vector<uint8_t> data, scales, biases;
  WeightMatrix view;
};

inline OwnedWeights RandomWeights(WeightFormat format, int64_t rows, int64_t cols, int group_size,
                                  ScaleType scale_type, std::mt19937& rng) {
  OwnedWeights o;
  o.view.format = format;
  o.view.rows = rows;
  o.view.cols = cols;
  o.view.group_size = group_size;
  o.view.scale_type = scale_type;
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  o.data.resize(o.view.row_bytes() * static_cast<size_t>(rows));
  for (size_t i = 0; i < o.data.size(); ++i) o.data[i] = static_cast<uint8_t>(rng());
  if (format == WeightFormat::kF32) {
    auto* f = reinterpret_cast<float*>(o.data.data());
    for (int64_t i = 0; i < rows * cols; ++i) f[i] = dist(rng);
  } else if (format == WeightFormat::kF16 || format == WeightFormat::kBf16) {
    auto* h = reinterpret_cast<uint16_t*>(o.data.data());
    for (int64_t i = 0; i < rows * cols; ++i) {
      h[i] = format == WeightFormat::kF16 ? F32ToF16(dist(rng)) : F32ToBf16(dist(rng));
    }
  } else {
    const size_t n = static_cast<size_t>(rows * (cols / group_size));
    const size_t bytes = scale_type == ScaleType::kF32 ? 4 : 2;
    o.scales.resize(n * bytes);
    o.biases.resize(n * bytes);
    for (size_t i = 0; i < n; ++i) {
      float s = 0.01f + 0.05f * std::abs(dist(rng)), b = dist(rng) * 0.3f;
      if (scale_type == ScaleType::kF32) {
        reinterpret_cast<float*>(o.scales.data())[i] = s;
        reinterpret_cast<float*>(o.biases.data())[i] = b;
      } else {
        auto conv = scale_type == ScaleType::kF16 ? F32ToF16 : F32ToBf16;
        reinterpret_cast<uint16_t*>(o.scales.data())[i] = conv(s);
        reinterpret_cast<uint16_t*>(o.biases.data())[i] = conv(b);
      }
    }
    o.view.scales = o.scales.data();
    o.view.biases = o.biases.data();
  }
  o.view.data = o.data.data();
  return o;
}

inline std::vector<float> RandomVector(size_t n, std::mt19937& rng, float scale = 1.f) {
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace ts::testing
