// Every CUDA kernel against the CPU kernels (or their scalar references) on random inputs of
// odd sizes. Label `gpu`: skips where there is no CUDA device.
#include "kernels/cuda/cuda_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "base/half.h"
#include "kernels/attention.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_memory.h"
#include "kernels/elementwise.h"
#include "kernels/matmul.h"
#include "kernels/reference/reference_kernels.h"
#include "tests/kernels/cpu/test_weights.h"
#include "tests/kernels/cuda/cuda_test_util.h"

namespace ts {
namespace {

class CudaEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (CudaDeviceCount() == 0) GTEST_SKIP() << "no CUDA device";
  }
};
::testing::Environment* const kCudaEnvironment =
    ::testing::AddGlobalTestEnvironment(new CudaEnvironment);

TEST(CudaKernels, AddRmsNormMatchesCpu) {
  std::mt19937 rng(1);
  const int64_t rows = 7, dim = 1001;
  auto x = testing::RandomVector(rows * dim, rng, 3.f);
  auto add = testing::RandomVector(rows * dim, rng);
  auto w = testing::RandomVector(dim, rng);
  CudaBuffer dx = Upload(x), dadd = Upload(add), dw = Upload(w);
  CudaBuffer out = Poisoned(rows * dim * 2);
  cuda::AddRmsNorm(dx.get<float>(), dadd.get<float>(), dw.get<float>(), nullptr, rows, dim, 1e-6f,
                   out.get<cuda::bf16>(), nullptr);
  std::vector<float> sum = x, want(rows * dim);
  AddInPlace(sum.data(), add.data(), rows * dim);
  RmsNorm(sum.data(), w.data(), rows, dim, 1e-6f, want.data());
  ExpectClose(Download<float>(dx, sum.size()), sum, 1e-6, "residual");
  ExpectClose(Bf16ToFloats(Download<uint16_t>(out, want.size())), want, 8e-3, "norm");

  // Gathered rows, no add.
  std::vector<int32_t> pick = {5, 0, 3};
  CudaBuffer dpick = Upload(pick);
  CudaBuffer out2 = Poisoned(pick.size() * dim * 2);
  cuda::AddRmsNorm(dx.get<float>(), nullptr, dw.get<float>(), dpick.get<int32_t>(), 3, dim, 1e-6f,
                   out2.get<cuda::bf16>(), nullptr);
  std::vector<float> want2;
  for (int32_t r : pick)
    want2.insert(want2.end(), want.begin() + r * dim, want.begin() + (r + 1) * dim);
  ExpectClose(Bf16ToFloats(Download<uint16_t>(out2, want2.size())), want2, 8e-3, "gathered");
}

class QkvTest : public ::testing::TestWithParam<KvDtype> {};

TEST_P(QkvTest, BiasNormRopeAndKvWriteMatchCpu) {
  const KvDtype dtype = GetParam();
  std::mt19937 rng(2);
  const int32_t T = 5, Hq = 6, Hkv = 2, D = 80, bs = 16, blocks = 3;
  const int32_t width = (Hq + 2 * Hkv) * D;
  auto qkv = testing::RandomVector(static_cast<size_t>(T) * width, rng, 2.f);
  auto bias = testing::RandomVector(width, rng, 0.5f);
  auto q_norm = testing::RandomVector(D, rng), k_norm = testing::RandomVector(D, rng);
  std::vector<float> inv_freq(D / 2);
  RopeInvFreq(D, 10000.f, {}, inv_freq.data());
  std::vector<int32_t> positions = {0, 7, 8, 31, 2};
  std::vector<int64_t> slots = {0, 17, 18, 47, 5};

  // CPU: bias, per-head norm, RoPE, WriteKv.
  std::vector<float> q(T * Hq * D), k(T * Hkv * D), v(T * Hkv * D);
  for (int32_t t = 0; t < T; ++t) {
    for (int32_t i = 0; i < width; ++i) {
      const float x = qkv[t * width + i] + bias[i];
      if (i < Hq * D)
        q[t * Hq * D + i] = x;
      else if (i < (Hq + Hkv) * D)
        k[t * Hkv * D + i - Hq * D] = x;
      else
        v[t * Hkv * D + i - (Hq + Hkv) * D] = x;
    }
  }
  RmsNorm(q.data(), q_norm.data(), T * Hq, D, 1e-6f, q.data());
  RmsNorm(k.data(), k_norm.data(), T * Hkv, D, 1e-6f, k.data());
  Rope(q.data(), positions.data(), T, Hq, D, inv_freq.data());
  Rope(k.data(), positions.data(), T, Hkv, D, inv_freq.data());
  PagedAttentionArgs pa;
  pa.kv_dtype = dtype;
  pa.block_size = bs;
  pa.num_kv_heads = Hkv;
  pa.head_dim = D;
  const size_t pool_bytes = static_cast<size_t>(blocks) * Hkv * bs * D * KvDtypeBytes(dtype);
  std::vector<uint8_t> k_pool(pool_bytes, 0), v_pool(pool_bytes, 0);
  WriteKv(k.data(), v.data(), slots.data(), T, pa, k_pool.data(), v_pool.data());

  CudaBuffer dqkv = Upload(qkv), dbias = Upload(bias), dqn = Upload(q_norm), dkn = Upload(k_norm),
             dfreq = Upload(inv_freq), dpos = Upload(positions), dslot = Upload(slots);
  CudaBuffer dk = Upload(std::vector<uint8_t>(pool_bytes, 0)),
             dv = Upload(std::vector<uint8_t>(pool_bytes, 0));
  CudaBuffer dq = Poisoned(q.size() * 4);
  cuda::QkvArgs a;
  a.num_heads = Hq;
  a.num_kv_heads = Hkv;
  a.head_dim = D;
  a.block_size = bs;
  a.kv_dtype = dtype;
  a.bias = dbias.get<float>();
  a.q_norm = dqn.get<float>();
  a.k_norm = dkn.get<float>();
  a.inv_freq = dfreq.get<float>();
  a.positions = dpos.get<int32_t>();
  a.slot = dslot.get<int64_t>();
  cuda::QkvRopeWriteKv(dqkv.get<float>(), T, a, dq.get<float>(), dk.get(), dv.get(), nullptr);
  ExpectClose(Download<float>(dq, q.size()), q, 1e-5, "q");
  // The pools as floats, through the CPU's own attention-side conversion: compare bytes
  // after conversion to float.
  auto to_floats = [&](const std::vector<uint8_t>& bytes) {
    std::vector<float> f(bytes.size() / KvDtypeBytes(dtype));
    for (size_t i = 0; i < f.size(); ++i) {
      if (dtype == KvDtype::kF32)
        std::memcpy(&f[i], &bytes[4 * i], 4);
      else {
        uint16_t h;
        std::memcpy(&h, &bytes[2 * i], 2);
        f[i] = dtype == KvDtype::kBf16 ? Bf16ToF32(h) : F16ToF32(h);
      }
    }
    return f;
  };
  const double kv_tol = dtype == KvDtype::kF32 ? 1e-5 : 1e-2;
  ExpectClose(to_floats(Download<uint8_t>(dk, pool_bytes)), to_floats(k_pool), kv_tol, "k pool");
  ExpectClose(to_floats(Download<uint8_t>(dv, pool_bytes)), to_floats(v_pool), kv_tol, "v pool");
}

INSTANTIATE_TEST_SUITE_P(KvDtypes, QkvTest,
                         ::testing::Values(KvDtype::kBf16, KvDtype::kF16, KvDtype::kF32));

struct AttentionCase {
  int32_t num_heads, num_kv_heads;  // GQA ratios 3, 4, 8, 2, 1 take each group size
  int32_t head_dim;
  KvDtype dtype;
  std::vector<int32_t> cached, num_new;
};

class CudaAttentionTest : public ::testing::TestWithParam<AttentionCase> {};

TEST_P(CudaAttentionTest, MatchesReference) {
  const AttentionCase& c = GetParam();
  const AttentionProblem p =
      MakeAttentionProblem(c.num_heads, c.num_kv_heads, c.head_dim, c.dtype, c.cached, c.num_new,
                           /*seed=*/3);
  ExpectClose(RunAttention(p, /*num_sms=*/132), p.want, 1e-2, "attention");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CudaAttentionTest,
    ::testing::Values(AttentionCase{6, 2, 64, KvDtype::kBf16, {0, 13, 7, 30}, {9, 1, 4, 1}},
                      AttentionCase{8, 2, 80, KvDtype::kF16, {0, 13, 7, 30}, {9, 1, 4, 1}},
                      AttentionCase{16, 2, 128, KvDtype::kF32, {5, 0}, {1, 37}},
                      AttentionCase{4, 2, 256, KvDtype::kBf16, {3}, {2}},
                      AttentionCase{3, 3, 40, KvDtype::kBf16, {21, 0}, {2, 19}},
                      // Few tokens, long context: split across blocks and merged.
                      AttentionCase{8, 2, 128, KvDtype::kBf16, {1500, 611}, {1, 1}},
                      AttentionCase{6, 2, 96, KvDtype::kF16, {2049}, {3}},
                      AttentionCase{16, 2, 256, KvDtype::kF32, {1100}, {1}},
                      // Row kernel shapes (head_dim 64/128/256): qwen3-8b's GQA of 4 with
                      // decode and prefill tokens side by side, groups of 8 and of 1.
                      AttentionCase{32, 8, 128, KvDtype::kBf16, {1000, 37, 0}, {1, 1, 5}},
                      AttentionCase{16, 2, 128, KvDtype::kF16, {300, 3}, {1, 2}},
                      AttentionCase{4, 4, 64, KvDtype::kF32, {50, 0}, {1, 23}}));

struct GemvCase {
  WeightFormat format;
  int32_t group_size;
  int64_t tokens;
};

class QuantMatmulTest : public ::testing::TestWithParam<GemvCase> {};

TEST_P(QuantMatmulTest, GemvDequantizeAndEmbedMatchReference) {
  const GemvCase& c = GetParam();
  std::mt19937 rng(4);
  const int64_t N = 77, K = 320;
  auto w = testing::RandomWeights(c.format, N, K, c.group_size, ScaleType::kBf16, rng);
  const int64_t groups = K / c.group_size;
  std::vector<float> scales(N * groups), biases(N * groups);
  for (size_t i = 0; i < scales.size(); ++i) {
    scales[i] = Bf16ToF32(reinterpret_cast<const uint16_t*>(w.scales.data())[i]);
    biases[i] = Bf16ToF32(reinterpret_cast<const uint16_t*>(w.biases.data())[i]);
  }
  CudaBuffer dq = Upload(w.data), ds = Upload(scales), db = Upload(biases);
  cuda::QuantMatrix qm{dq.get<uint8_t>(), ds.get<float>(), db.get<float>(), N, K,
                       w.view.bits(),     c.group_size};
  // x rounded to bf16 on both sides: the GPU takes bf16 activations.
  auto x = RoundToBf16(testing::RandomVector(static_cast<size_t>(c.tokens * K), rng));
  std::vector<uint16_t> xb(x.size());
  for (size_t i = 0; i < x.size(); ++i) xb[i] = F32ToBf16(x[i]);
  std::vector<float> want(c.tokens * N);
  reference::MatMul(x.data(), c.tokens, w.view, want.data());
  CudaBuffer dx = Upload(xb);
  const int64_t ldy = N + 3;  // a wider output row: products write side by side
  CudaBuffer y = Poisoned(c.tokens * ldy * 4);
  cuda::QuantGemv(dx.get<cuda::bf16>(), c.tokens, qm, y.get<float>(), ldy, nullptr);
  auto got_wide = Download<float>(y, c.tokens * ldy);
  std::vector<float> got;
  for (int64_t t = 0; t < c.tokens; ++t) {
    got.insert(got.end(), got_wide.begin() + t * ldy, got_wide.begin() + t * ldy + N);
  }
  ExpectClose(got, want, 1e-5, "gemv");

  // Dequantized rows [10, 50) and embedding rows.
  CudaBuffer slab = Poisoned(40 * K * 2);
  cuda::Dequantize(qm, 10, 50, slab.get<cuda::bf16>(), nullptr);
  std::vector<float> want_rows;
  for (int64_t n = 10; n < 50; ++n) {
    for (int64_t k = 0; k < K; ++k) want_rows.push_back(reference::WeightAt(w.view, n, k));
  }
  ExpectClose(Bf16ToFloats(Download<uint16_t>(slab, want_rows.size())), want_rows, 8e-3,
              "dequantize");
  std::vector<int32_t> ids = {76, 0, 31};
  CudaBuffer dids = Upload(ids);
  CudaBuffer emb = Poisoned(ids.size() * K * 4);
  cuda::EmbedQuant(qm, dids.get<int32_t>(), 3, emb.get<float>(), nullptr);
  std::vector<float> want_emb;
  for (int32_t id : ids) {
    for (int64_t k = 0; k < K; ++k) want_emb.push_back(reference::WeightAt(w.view, id, k));
  }
  ExpectClose(Download<float>(emb, want_emb.size()), want_emb, 1e-6, "embed");
}

INSTANTIATE_TEST_SUITE_P(Formats, QuantMatmulTest,
                         ::testing::Values(GemvCase{WeightFormat::kQ4, 64, 1},
                                           GemvCase{WeightFormat::kQ4, 32, 5},
                                           GemvCase{WeightFormat::kQ8, 64, 8},
                                           GemvCase{WeightFormat::kQ8, 32, 3}));

TEST(CudaKernels, DenseGemvMatchesReference) {
  std::mt19937 rng(6);
  const int64_t N = 45, K = 264;  // K: a multiple of 8, not of 256
  for (int64_t tokens : {1, 4, 8}) {
    auto w = testing::RandomWeights(WeightFormat::kBf16, N, K, 0, ScaleType::kBf16, rng);
    auto x = RoundToBf16(testing::RandomVector(static_cast<size_t>(tokens * K), rng));
    std::vector<uint16_t> xb(x.size());
    for (size_t i = 0; i < x.size(); ++i) xb[i] = F32ToBf16(x[i]);
    std::vector<float> want(tokens * N);
    reference::MatMul(x.data(), tokens, w.view, want.data());
    CudaBuffer dw = Upload(w.data), dx = Upload(xb), y = Poisoned(tokens * (N + 1) * 4);
    cuda::DenseGemv(dx.get<cuda::bf16>(), tokens, dw.get<cuda::bf16>(), N, K, y.get<float>(), N + 1,
                    nullptr);
    auto wide = Download<float>(y, tokens * (N + 1));
    std::vector<float> got;
    for (int64_t t = 0; t < tokens; ++t) {
      got.insert(got.end(), wide.begin() + t * (N + 1), wide.begin() + t * (N + 1) + N);
    }
    ExpectClose(got, want, 1e-5, "dense gemv");
  }
}

TEST(CudaKernels, ElementwiseMatchCpu) {
  std::mt19937 rng(5);
  const int64_t T = 3, I = 333, V = 11, H = 70;
  auto gu = testing::RandomVector(T * 2 * I, rng, 4.f);
  std::vector<float> want(T * I);
  for (int64_t t = 0; t < T; ++t) {
    SiluMul(gu.data() + t * 2 * I, gu.data() + t * 2 * I + I, I, want.data() + t * I);
  }
  CudaBuffer dgu = Upload(gu), out = Poisoned(T * I * 2);
  cuda::SiluMul(dgu.get<float>(), T, I, out.get<cuda::bf16>(), nullptr);
  ExpectClose(Bf16ToFloats(Download<uint16_t>(out, want.size())), want, 8e-3, "silu_mul");
  // From bf16 inputs: the CPU reference on the same rounded inputs.
  const std::vector<float> gu16 = RoundToBf16(gu);
  std::vector<uint16_t> gu16_bits(gu16.size());
  for (size_t i = 0; i < gu16.size(); ++i) gu16_bits[i] = F32ToBf16(gu16[i]);
  std::vector<float> want16(T * I);
  for (int64_t t = 0; t < T; ++t) {
    SiluMul(gu16.data() + t * 2 * I, gu16.data() + t * 2 * I + I, I, want16.data() + t * I);
  }
  CudaBuffer dgu16 = Upload(gu16_bits), out16 = Poisoned(T * I * 2);
  cuda::SiluMul(dgu16.get<cuda::bf16>(), T, I, out16.get<cuda::bf16>(), nullptr);
  ExpectClose(Bf16ToFloats(Download<uint16_t>(out16, want16.size())), want16, 8e-3,
              "silu_mul from bf16");

  auto x = testing::RandomVector(T * (H + 5), rng), bias = testing::RandomVector(H, rng);
  std::vector<float> want_bias = x;
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t i = 0; i < H; ++i) want_bias[t * (H + 5) + i] += bias[i];
  }
  CudaBuffer dx = Upload(x), dbias = Upload(bias);
  cuda::AddBias(dx.get<float>(), dbias.get<float>(), T, H, H + 5, nullptr);
  ExpectClose(Download<float>(dx, x.size()), want_bias, 1e-6, "bias");

  auto table = RoundToBf16(testing::RandomVector(V * H, rng));
  std::vector<uint16_t> tb(table.size());
  for (size_t i = 0; i < tb.size(); ++i) tb[i] = F32ToBf16(table[i]);
  std::vector<int32_t> ids = {10, 0, 4, 4};
  CudaBuffer dt = Upload(tb), dids = Upload(ids), emb = Poisoned(ids.size() * H * 4);
  cuda::EmbedBf16(dt.get<cuda::bf16>(), H, dids.get<int32_t>(), 4, emb.get<float>(), nullptr);
  std::vector<float> want_emb;
  for (int32_t id : ids)
    want_emb.insert(want_emb.end(), table.begin() + id * H, table.begin() + (id + 1) * H);
  ExpectClose(Download<float>(emb, want_emb.size()), want_emb, 0, "embed");
}

}  // namespace
}  // namespace ts
