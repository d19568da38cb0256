#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/thread_pool.h"
#include "kernels/packed_bf16.h"
#include "kernels/packed_quant.h"
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

// Max |a - b| over max |b|.
double RelativeError(const std::vector<float>& a, const std::vector<float>& b) {
  double max_err = 0, max_ref = 1e-6;
  for (size_t i = 0; i < a.size(); ++i) {
    max_err = std::max(max_err, std::fabs(static_cast<double>(a[i]) - b[i]));
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(b[i])));
  }
  return max_err / max_ref;
}

// Max |fast - ref| relative to the scale of the outputs.
double CompareToReference(Isa isa, const Case& c, int64_t num_rows, ThreadPool& pool,
                          std::mt19937& rng) {
  auto w = RandomWeights(c.format, c.rows, c.cols, c.group, c.scale_type, rng);
  auto x = RandomVector(static_cast<size_t>(num_rows * c.cols), rng);
  std::vector<float> got(static_cast<size_t>(num_rows * c.rows), std::nanf(""));
  std::vector<float> want(got.size());
  MatMulWithIsa(isa, x.data(), num_rows, w.view, got.data(), pool);
  reference::MatMul(x.data(), num_rows, w.view, want.data());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_FALSE(std::isnan(got[i])) << "output " << i << " not written";
  }
  return RelativeError(got, want);
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

bool HasVnni() {
  auto isas = AvailableIsas();
  return std::find(isas.begin(), isas.end(), Isa::kAvx512Vnni) != isas.end();
}

// Rounding x to `bits` bits moves each element by at most half a step (max|x| of its group / L,
// L = 127 or 32767), so an output moves by at most sum_k |w[n][k]| * step(k) / 2 from the f32
// product.
void ExpectWithinActivationRounding(const std::vector<float>& x, int64_t num_rows,
                                    const WeightMatrix& w, int bits, const std::vector<float>& got,
                                    const std::vector<float>& f32_ref) {
  const double limit = bits == 8 ? 127 : 32767;
  const int64_t K = w.cols, G = w.group_size;
  for (int64_t t = 0; t < num_rows; ++t) {
    std::vector<double> half_step(static_cast<size_t>(K / G));
    for (int64_t g = 0; g < K / G; ++g) {
      float m = 0;
      for (int64_t k = g * G; k < (g + 1) * G; ++k) m = std::max(m, std::fabs(x[t * K + k]));
      half_step[g] = 0.5 * m / limit;
    }
    for (int64_t n = 0; n < w.rows; ++n) {
      double bound = 1e-4;
      for (int64_t k = 0; k < K; ++k) {
        bound += std::fabs(reference::WeightAt(w, n, k)) * half_step[k / G];
      }
      const size_t i = static_cast<size_t>(t * w.rows + n);
      EXPECT_LE(std::fabs(static_cast<double>(got[i]) - f32_ref[i]), bound)
          << "row " << t << " output " << n;
    }
  }
}

// Packed q8/q4 weights times int16 or int8 activations: the integer reference up to float
// rounding, the f32 product within activation rounding; odd row counts leave partial 16-row
// blocks.
TEST(MatMulTest, PackedMatchesReferences) {
  if (!HasVnni()) GTEST_SKIP() << "no AVX512-VNNI on this CPU";
  ThreadPool pool(2);
  std::mt19937 rng(11);
  const Case cases[] = {
      {WeightFormat::kQ8, 35, 96, 32, ScaleType::kBf16},
      {WeightFormat::kQ8, 19, 256, 128, ScaleType::kF16},
      {WeightFormat::kQ8, 64, 128, 64, ScaleType::kF32},
      {WeightFormat::kQ4, 41, 192, 64, ScaleType::kBf16},
      {WeightFormat::kQ4, 7, 64, 32, ScaleType::kF32},
      {WeightFormat::kQ4, 33, 384, 128, ScaleType::kF16},
      {WeightFormat::kQ4, 1, 32, 32, ScaleType::kBf16},
  };
  for (int bits : {16, 8}) {
    for (const Case& c : cases) {
      auto w = RandomWeights(c.format, c.rows, c.cols, c.group, c.scale_type, rng);
      PackedQuantMatrix packed(w.view, bits);
      w.view.packed = &packed;
      for (int64_t num_rows : {1, 3, 4, 5, 9, 17}) {
        auto x = RandomVector(static_cast<size_t>(num_rows * c.cols), rng);
        // A large value in one group: the other groups keep their own scales.
        x[static_cast<size_t>(c.cols / 2)] = 40.f;
        std::vector<float> got(static_cast<size_t>(num_rows * c.rows), std::nanf(""));
        std::vector<float> int_ref(got.size()), f32_ref(got.size());
        MatMulWithIsa(Isa::kAvx512Vnni, x.data(), num_rows, w.view, got.data(), pool);
        reference::MatMulQuantizedActivations(x.data(), num_rows, w.view, bits, int_ref.data());
        reference::MatMul(x.data(), num_rows, w.view, f32_ref.data());
        for (float v : got) ASSERT_FALSE(std::isnan(v)) << "output not written";
        EXPECT_LT(RelativeError(got, int_ref), 2e-6)
            << "int" << bits << " format " << static_cast<int>(c.format) << " " << c.rows << "x"
            << c.cols << " T=" << num_rows;
        ExpectWithinActivationRounding(x, num_rows, w.view, bits, got, f32_ref);
      }
    }
  }
}

TEST(MatMulTest, PackedIsBatchAndThreadInvariant) {
  if (!HasVnni()) GTEST_SKIP() << "no AVX512-VNNI on this CPU";
  std::mt19937 rng(5);
  ThreadPool one(1), two(2);
  for (int bits : {16, 8})
    for (WeightFormat f : {WeightFormat::kQ8, WeightFormat::kQ4}) {
      auto w = RandomWeights(f, 77, 128, 64, ScaleType::kBf16, rng);
      PackedQuantMatrix packed(w.view, bits);
      w.view.packed = &packed;
      auto x = RandomVector(13 * 128, rng);
      std::vector<float> batched(13 * 77);
      MatMulWithIsa(Isa::kAvx512Vnni, x.data(), 13, w.view, batched.data(), two);
      for (int64_t t = 0; t < 13; ++t) {
        std::vector<float> alone(77);
        MatMulWithIsa(Isa::kAvx512Vnni, x.data() + t * 128, 1, w.view, alone.data(), one);
        EXPECT_EQ(std::memcmp(alone.data(), batched.data() + t * 77, 77 * sizeof(float)), 0)
            << "int" << bits << " format " << static_cast<int>(f) << " row " << t;
      }
    }
}

// Packed bf16 weights times bf16-rounded activations (the selected ISA, when it is AVX-512):
// the exact reference up to f32 accumulation; odd K pads its last pair, odd N leaves partial
// 16-row blocks, and 4 weight blocks per tile leave tails of 1-3 blocks.
TEST(MatMulTest, PackedBf16MatchesReference) {
  if (!CpuHasAvx512Bf16() || SelectedIsa() == Isa::kAvx2) GTEST_SKIP() << "no AVX512-BF16";
  ThreadPool pool(2);
  std::mt19937 rng(17);
  const int64_t shapes[][2] = {{35, 96}, {19, 257}, {64, 128}, {1, 1}, {83, 33}, {130, 64}};
  for (const auto& [N, K] : shapes) {
    auto w = RandomWeights(WeightFormat::kBf16, N, K, 0, ScaleType::kBf16, rng);
    const PackedBf16Matrix packed(w.view);
    w.view.packed_bf16 = &packed;
    for (int64_t num_rows : {1, 3, 4, 5, 9, 17}) {
      auto x = RandomVector(static_cast<size_t>(num_rows * K), rng);
      std::vector<float> got(static_cast<size_t>(num_rows * N), std::nanf(""));
      std::vector<float> want(got.size());
      MatMul(x.data(), num_rows, w.view, got.data(), pool);
      reference::MatMulBf16Activations(x.data(), num_rows, w.view, want.data());
      for (float v : got) ASSERT_FALSE(std::isnan(v)) << "output not written";
      EXPECT_LT(RelativeError(got, want), 1e-5) << N << "x" << K << " T=" << num_rows;
    }
  }
}

TEST(MatMulTest, PackedBf16IsBatchAndThreadInvariant) {
  if (!CpuHasAvx512Bf16() || SelectedIsa() == Isa::kAvx2) GTEST_SKIP() << "no AVX512-BF16";
  std::mt19937 rng(6);
  ThreadPool one(1), two(2);
  auto w = RandomWeights(WeightFormat::kBf16, 77, 130, 0, ScaleType::kBf16, rng);
  const PackedBf16Matrix packed(w.view);
  w.view.packed_bf16 = &packed;
  auto x = RandomVector(13 * 130, rng);
  std::vector<float> batched(13 * 77);
  MatMul(x.data(), 13, w.view, batched.data(), two);
  for (int64_t t = 0; t < 13; ++t) {
    std::vector<float> alone(77);
    MatMul(x.data() + t * 130, 1, w.view, alone.data(), one);
    EXPECT_EQ(std::memcmp(alone.data(), batched.data() + t * 77, 77 * sizeof(float)), 0)
        << "row " << t;
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
