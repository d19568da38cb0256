#include "kernels/elementwise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kernels/reference/reference_kernels.h"
#include "tests/kernels/cpu/test_weights.h"

namespace ts {
namespace {

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

TEST(ElementwiseTest, RmsNormMatchesReference) {
  std::mt19937 rng(1);
  for (int64_t dim : {1, 7, 33, 130}) {
    auto x = testing::RandomVector(static_cast<size_t>(5 * dim), rng, 3.f);
    auto w = testing::RandomVector(static_cast<size_t>(dim), rng);
    std::vector<float> got(x.size()), want(x.size());
    RmsNorm(x.data(), w.data(), 5, dim, 1e-6f, got.data());
    reference::RmsNorm(x.data(), w.data(), 5, dim, 1e-6f, want.data());
    EXPECT_LT(MaxAbsDiff(got, want), 1e-5) << dim;
  }
}

TEST(ElementwiseTest, RopeMatchesReference) {
  std::mt19937 rng(2);
  for (int64_t head_dim : {2, 18, 64, 128}) {
    std::vector<float> inv(static_cast<size_t>(head_dim / 2));
    RopeInvFreq(head_dim, 1e6f, RopeScaling{}, inv.data());
    int32_t positions[] = {0, 1, 17, 4095};
    auto x = testing::RandomVector(static_cast<size_t>(4 * 3 * head_dim), rng);
    auto y = x;
    Rope(x.data(), positions, 4, 3, head_dim, inv.data());
    reference::Rope(y.data(), positions, 4, 3, head_dim, inv.data());
    EXPECT_LT(MaxAbsDiff(x, y), 2e-5) << head_dim;
  }
}

// Llama 3 scaling leaves high frequencies, divides low ones by factor, blends the middle.
TEST(ElementwiseTest, Llama3RopeScaling) {
  const int64_t d = 128;
  std::vector<float> plain(d / 2), scaled(d / 2);
  RopeInvFreq(d, 500000.f, RopeScaling{}, plain.data());
  RopeScaling s{8.f, 1.f, 4.f, 8192.f};
  RopeInvFreq(d, 500000.f, s, scaled.data());
  EXPECT_EQ(scaled[0], plain[0]);
  EXPECT_FLOAT_EQ(scaled[d / 2 - 1], plain[d / 2 - 1] / 8.f);
  for (int64_t i = 0; i < d / 2; ++i) {
    EXPECT_LE(scaled[i], plain[i]);
    EXPECT_GE(scaled[i], plain[i] / 8.f * (1 - 1e-6f));
  }
}

TEST(ElementwiseTest, SiluMulMatchesReference) {
  std::mt19937 rng(3);
  auto g = testing::RandomVector(1001, rng, 20.f), u = testing::RandomVector(1001, rng);
  std::vector<float> got(1001), want(1001);
  SiluMul(g.data(), u.data(), 1001, got.data());
  reference::SiluMul(g.data(), u.data(), 1001, want.data());
  EXPECT_LT(MaxAbsDiff(got, want), 1e-5);
}

}  // namespace
}  // namespace ts
