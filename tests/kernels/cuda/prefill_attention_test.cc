// The tensor-core prefill attention (kernels/cuda/prefill_attention.cu) against the scalar
// reference, alone and sharing a step with sequences left to the CUDA-core kernel. Label
// `gpu` (part of ts_cuda_kernel_tests, which skips without a device).
#include "kernels/cuda/prefill_attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "tests/kernels/cuda/cuda_test_util.h"

namespace ts {
namespace {

constexpr int kSms = 132;

struct PrefillCase {
  int32_t num_heads, num_kv_heads, head_dim;
  KvDtype dtype;
  std::vector<int32_t> cached, num_new;
  int32_t tiled_min;  // sequences with fewer new tokens stay on the CUDA-core kernel
};

class TiledPrefillTest : public ::testing::TestWithParam<PrefillCase> {};

TEST_P(TiledPrefillTest, MatchesReference) {
  const PrefillCase& c = GetParam();
  AttentionProblem p = MakeAttentionProblem(c.num_heads, c.num_kv_heads, c.head_dim, c.dtype,
                                            c.cached, c.num_new, /*seed=*/11);
  p.args.tiled_min_queries = c.tiled_min;
  ASSERT_TRUE(cuda::TiledPrefillApplies(p.args));
  // These grids are small: with 132 multiprocessors the tiled kernel takes its 64-row blocks,
  // with one its 128-row blocks (where there are at least 4 of them).
  for (int num_sms : {kSms, 1}) {
    SCOPED_TRACE(num_sms);
    ExpectClose(RunAttention(p, num_sms), p.want, 1e-2, "tiled attention");
  }
}

// Odd query counts, prefixes that end inside a block, query tiles and key tiles cut at odd
// places; GQA ratios 1, 2, 4 (and 8: 8 tokens a tile); head_dim 32, 64 and 128.
INSTANTIATE_TEST_SUITE_P(
    Shapes, TiledPrefillTest,
    ::testing::Values(
        PrefillCase{4, 4, 64, KvDtype::kBf16, {0}, {77}, 1},
        PrefillCase{4, 4, 128, KvDtype::kBf16, {37}, {150}, 1},
        PrefillCase{6, 3, 64, KvDtype::kBf16, {0, 21}, {33, 65}, 1},
        PrefillCase{8, 4, 128, KvDtype::kBf16, {130, 0, 5}, {19, 47, 1}, 1},
        PrefillCase{8, 2, 128, KvDtype::kBf16, {1001}, {95}, 1},
        PrefillCase{8, 2, 64, KvDtype::kBf16, {19, 3}, {129, 17}, 1},
        PrefillCase{32, 8, 128, KvDtype::kBf16, {0}, {203}, 1},
        PrefillCase{16, 2, 128, KvDtype::kBf16, {9}, {31}, 1},
        PrefillCase{4, 2, 32, KvDtype::kBf16, {7}, {72}, 1},
        // f16 and f32 pools (converted to bf16 tiles).
        PrefillCase{8, 4, 128, KvDtype::kF16, {45}, {70}, 1},
        PrefillCase{6, 3, 64, KvDtype::kF32, {0, 300}, {99, 13}, 1},
        // Mixed steps: decode tokens and short chunks on the CUDA-core kernel (with splits
        // for the long contexts) beside tiled prefills.
        PrefillCase{8, 2, 128, KvDtype::kBf16, {1500, 0, 611, 17}, {1, 69, 1, 3}, 20},
        PrefillCase{4, 2, 64, KvDtype::kBf16, {2049, 5}, {1, 40}, 33}));

// Not a check: prints the time of both kernels for one sequence of qwen3-8b's attention shape
// (32 q heads, 8 KV heads of 128, bf16 pool) by new tokens and cached prefix, to place
// kTiledMinQueries. Run with --gtest_also_run_disabled_tests.
TEST(TiledPrefillTiming, DISABLED_AgainstCudaCores) {
  std::printf("%8s %8s %12s %12s\n", "cached", "new", "cuda-core us", "tiled us");
  for (int32_t cached : {0, 1000, 4000}) {
    for (int32_t n : {8, 16, 32, 64, 128, 256, 1024, 8192}) {
      if (cached > 0 && n > 1024) continue;
      AttentionProblem p = MakeAttentionProblem(32, 8, 128, KvDtype::kBf16, {cached}, {n},
                                                /*seed=*/5, /*with_reference=*/false);
      CudaBuffer scratch =
          Poisoned(std::max<int64_t>(1, cuda::AttentionScratchFloats(p.args, kSms)) * 4);
      CudaBuffer out = Poisoned(p.q.size() * 2);
      float us[2];
      for (int tiled : {0, 1}) {
        p.args.tiled_min_queries = tiled;
        cudaEvent_t start, stop;
        CUDA_CHECK(cudaEventCreate(&start));
        CUDA_CHECK(cudaEventCreate(&stop));
        constexpr int kReps = 20;
        std::vector<float> times;
        for (int r = 0; r < kReps + 2; ++r) {  // the first two warm up
          CUDA_CHECK(cudaEventRecord(start));
          cuda::PagedAttention(p.q_dev.get<float>(), p.args, scratch.get<float>(), kSms,
                               out.get<cuda::bf16>(), nullptr);
          CUDA_CHECK(cudaEventRecord(stop));
          CUDA_CHECK(cudaEventSynchronize(stop));
          float ms = 0;
          CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
          if (r >= 2) times.push_back(ms);
        }
        CUDA_CHECK(cudaGetLastError());
        std::nth_element(times.begin(), times.begin() + kReps / 2, times.end());
        us[tiled] = times[kReps / 2] * 1000.f;
        CUDA_CHECK(cudaEventDestroy(start));
        CUDA_CHECK(cudaEventDestroy(stop));
      }
      std::printf("%8d %8d %12.1f %12.1f\n", cached, n, us[0], us[1]);
    }
  }
}

}  // namespace
}  // namespace ts
