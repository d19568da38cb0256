#include "model/mlx_quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "base/half.h"

namespace ts {
namespace {

float Unpack(const QuantizedMatrix& q, int bits, int64_t cols, int64_t r, int64_t c) {
  const uint8_t* row = q.packed.data() + r * cols * bits / 8;
  return bits == 8 ? row[c] : (row[c / 2] >> (4 * (c % 2))) & 0xf;
}

// A hand-worked group: values 0..-1.5 (|min| > |max| picks the min edge).
TEST(MlxQuantizeTest, FollowsMlxAlgorithmOnAKnownGroup) {
  std::vector<float> w(32);
  for (int i = 0; i < 32; ++i) w[i] = -1.5f * static_cast<float>(i) / 31.f;
  QuantizedMatrix q = MlxQuantize(w.data(), 1, 32, 4, 32, DType::kF32);
  float scale, bias;
  std::memcpy(&scale, q.scales.data(), 4);
  std::memcpy(&bias, q.biases.data(), 4);
  // scale = 1.5 / 15 = 0.1 (positive: the min edge), edge = -1.5, q0 = -15, scale = -1.5/-15.
  EXPECT_FLOAT_EQ(scale, 0.1f);
  EXPECT_FLOAT_EQ(bias, -1.5f);
  EXPECT_EQ(Unpack(q, 4, 32, 0, 31), 0.f);   // -1.5 -> 0
  EXPECT_EQ(Unpack(q, 4, 32, 0, 0), 15.f);   // 0 -> 15
}

// MLX moves the scale so that zero is exactly representable (bias = edge = scale * q0); the far
// end of the range can then be clipped by up to one step, so values stay within 1.5 steps.
TEST(MlxQuantizeTest, RoundTripWithinHalfAStep) {
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (int bits : {4, 8}) {
    for (int group : {32, 64, 128}) {
      const int64_t rows = 3, cols = 256;
      std::vector<float> w(rows * cols);
      for (auto& x : w) x = dist(rng) + (rng() % 2 ? 0.5f : -0.5f) * 0.1f;
      QuantizedMatrix q = MlxQuantize(w.data(), rows, cols, bits, group, DType::kF32);
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
          float s, b;
          std::memcpy(&s, q.scales.data() + 4 * (r * (cols / group) + c / group), 4);
          std::memcpy(&b, q.biases.data() + 4 * (r * (cols / group) + c / group), 4);
          const float back = s * Unpack(q, bits, cols, r, c) + b;
          EXPECT_LE(std::fabs(back - w[r * cols + c]), std::fabs(s) * 1.5f + 1e-6f);
          // Zero maps to an integer level exactly.
          const float zero_level = -b / s;
          EXPECT_NEAR(zero_level, std::rint(zero_level), 1e-3f);
        }
      }
    }
  }
}

TEST(MlxQuantizeTest, ScalesStoredInTheWeightDtype) {
  std::vector<float> w(64, 0.25f);
  w[3] = -0.75f;
  QuantizedMatrix q = MlxQuantize(w.data(), 1, 64, 8, 64, DType::kBf16);
  EXPECT_EQ(q.scales.size(), 2u);
  uint16_t s;
  std::memcpy(&s, q.scales.data(), 2);
  EXPECT_NEAR(Bf16ToF32(s), 1.f / 255.f * 1.0f, 1e-4);
}

}  // namespace
}  // namespace ts
