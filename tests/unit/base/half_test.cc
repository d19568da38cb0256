#include "base/half.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace ts {
namespace {

// f16 round trip: every f16 bit pattern (not NaN) survives f16 -> f32 -> f16.
TEST(HalfTest, F16RoundTripsAllValues) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = F16ToF32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(F32ToF16(f), h) << std::hex << h;
  }
}

TEST(HalfTest, Bf16RoundTripsAllValues) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = Bf16ToF32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(F32ToBf16(f), h) << std::hex << h;
  }
}

// Rounding to nearest even, checked against a slow reference that picks the nearer neighbour.
TEST(HalfTest, RoundsToNearestEven) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-70000.f, 70000.f);
  for (int i = 0; i < 200000; ++i) {
    float f = dist(rng) * std::pow(2.f, static_cast<float>(static_cast<int>(rng() % 40) - 30));
    uint16_t h = F32ToF16(f);
    float got = F16ToF32(h);
    if (std::isinf(got)) {
      EXPECT_GE(std::fabs(f), 65504.f);
      continue;
    }
    for (int d : {-1, 1}) {
      uint16_t other = static_cast<uint16_t>(h + d);
      float o = F16ToF32(other);
      if (std::isnan(o) || std::isinf(o) || std::signbit(o) != std::signbit(got)) continue;
      EXPECT_LE(std::fabs(got - f), std::fabs(o - f)) << f;
    }
    uint16_t b = F32ToBf16(f);
    float gb = Bf16ToF32(b);
    float nb = Bf16ToF32(static_cast<uint16_t>(b + 1));
    float pb = Bf16ToF32(static_cast<uint16_t>(b - 1));
    EXPECT_LE(std::fabs(gb - f), std::fabs(nb - f));
    EXPECT_LE(std::fabs(gb - f), std::fabs(pb - f));
  }
}

}  // namespace
}  // namespace ts
