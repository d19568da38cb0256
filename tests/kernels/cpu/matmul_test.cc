#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "base/thread_pool.h"
#include "kernels/reference/reference_kernels.h"
#include "tests/kernels/cpu/test_weights.h"

namespace ts {
namespace {

using testing::RandomVector;
using testing::RandomWeights;

struct Case {
  WeightFormat format;
  int64_t rows, cols;
  int group;
  ScaleType scale_type;
};

// Max |fast - ref| relative to the scale of the outputs.
double CompareToReference(Isa isa, const Case& c, int64_t num_rows, ThreadPool& pool,
                          std::mt19937& rng) {
  auto w = RandomWeights(c.format, c.rows, c.cols, c.group, c.scale_type, rng);
  auto x = RandomVector(static_cast<size_t>(num_rows * c.cols), rng);
  std::vector<float> got(static_cast<size_t>(num_rows * c.rows), std::nanf(""));
  std::vector<float> want(got.size());
  MatMulWithIsa(isa, x.data(), num_rows, w.view, got.data(), pool);
  reference::MatMul(x.data(), num_rows, w.view, want.data());
  double max_err = 0, max_ref = 1e-6;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_FALSE(std::isnan(got[i])) << "output " << i << " not written";
    max_err = std::max(max_err, std::fabs(static_cast<double>(got[i]) - want[i]));
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(want[i])));
  }
  return max_err / max_ref;
}

TEST(MatMulTest, MatchesReferenceOnOddSizes) {
  ThreadPool pool(2);
  std::mt19937 rng(42);
  const Case cases[] = {
      {WeightFormat::kF32, 37, 83, 0, ScaleType::kBf16},
      {WeightFormat::kF32, 5, 16, 0, ScaleType::kBf16},
      {WeightFormat::kBf16, 67, 131, 0, ScaleType::kBf16},
      {WeightFormat::kF16, 29, 97, 0, ScaleType::kBf16},
      {WeightFormat::kBf16, 1, 7, 0, ScaleType::kBf16},
      {WeightFormat::kQ8, 35, 96, 32, ScaleType::kBf16},
      {WeightFormat::kQ8, 19, 256, 128, ScaleType::kF16},
      {WeightFormat::kQ4, 41, 192, 64, ScaleType::kBf16},
      {WeightFormat::kQ4, 7, 64, 32, ScaleType::kF32},
      {WeightFormat::kQ4, 33, 384, 128, ScaleType::kF16},
  };
  for (Isa isa : AvailableIsas()) {
    for (const Case& c : cases) {
      for (int64_t num_rows : {1, 3, 4, 5, 9, 17}) {
        double err = CompareToReference(isa, c, num_rows, pool, rng);
        EXPECT_LT(err, 2e-6) << IsaName(isa) << " format " << static_cast<int>(c.format) << " "
                             << c.rows << "x" << c.cols << " T=" << num_rows;
      }
    }
  }
}

// A row's output must not depend on which other rows share the call or on the thread count.
TEST(MatMulTest, BatchInvariantAndThreadInvariant) {
  std::mt19937 rng(7);
  ThreadPool one(1), two(2);
  for (Isa isa : AvailableIsas()) {
    for (WeightFormat f : {WeightFormat::kBf16, WeightFormat::kQ4, WeightFormat::kF32}) {
      auto w = RandomWeights(f, 45, 128, 32, ScaleType::kBf16, rng);
      auto x = RandomVector(11 * 128, rng);
      std::vector<float> batched(11 * 45);
      MatMulWithIsa(isa, x.data(), 11, w.view, batched.data(), two);
      for (int64_t t = 0; t < 11; ++t) {
        std::vector<float> alone(45);
        MatMulWithIsa(isa, x.data() + t * 128, 1, w.view, alone.data(), one);
        EXPECT_EQ(std::memcmp(alone.data(), batched.data() + t * 45, 45 * sizeof(float)), 0)
            << IsaName(isa) << " row " << t;
      }
    }
  }
}

TEST(MatMulTest, GatherRowsDequantizes) {
  std::mt19937 rng(3);
  auto w = RandomWeights(WeightFormat::kQ8, 10, 64, 32, ScaleType::kBf16, rng);
  int32_t ids[] = {9, 0, 4};
  std::vector<float> out(3 * 64);
  GatherRows(w.view, ids, 3, out.data());
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 64; ++k) EXPECT_EQ(out[i * 64 + k], reference::WeightAt(w.view, ids[i], k));
  }
}

}  // namespace
}  // namespace ts
