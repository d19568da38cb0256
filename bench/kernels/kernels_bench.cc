// Kernel throughput: matmul in every weight format at decode and prefill row counts (one
// thread, so figures are per core), and paged attention for a decode batch.
//   build/bench/kernels/ts_kernels_bench --benchmark_filter=MatMul
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <random>

#include "base/large_alloc.h"
#include "base/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/packed_bf16.h"
#include "kernels/packed_quant.h"
#include "tests/kernels/cpu/test_weights.h"

namespace ts {
namespace {

constexpr int64_t kN = 3072, kK = 1024;  // Qwen3-0.6B's gate/up projection

// T rows times w ([kN][kK]) on one thread; "GFLOP/s" counts 2 N K T (integer ops for VNNI).
void TimeMatMul(benchmark::State& state, const WeightMatrix& w, int64_t T, std::mt19937& rng) {
  auto x = testing::RandomVector(static_cast<size_t>(T * kK), rng);
  std::vector<float> y(static_cast<size_t>(T * kN));
  ThreadPool pool(1);
  for (auto _ : state) {
    MatMul(x.data(), T, w, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2e-9 * T * kN * kK, benchmark::Counter::kIsIterationInvariantRate);
}

// args: format, rows T; the float paths.
void BM_MatMul(benchmark::State& state) {
  std::mt19937 rng(1);
  auto w = testing::RandomWeights(static_cast<WeightFormat>(state.range(0)), kN, kK, 64,
                                  ScaleType::kBf16, rng);
  TimeMatMul(state, w.view, state.range(1), rng);
}
BENCHMARK(BM_MatMul)
    ->ArgsProduct({{static_cast<int>(WeightFormat::kBf16), static_cast<int>(WeightFormat::kQ8),
                    static_cast<int>(WeightFormat::kQ4), static_cast<int>(WeightFormat::kF32)},
                   {1, 4, 16, 64, 256}})
    ->Unit(benchmark::kMicrosecond);

// The VNNI path (AVX512-VNNI only): args format (q8, q4), rows T, activation bits.
void BM_MatMulPacked(benchmark::State& state) {
  if (SelectedIsa() != Isa::kAvx512Vnni) {
    state.SkipWithError("needs AVX512-VNNI");
    return;
  }
  std::mt19937 rng(1);
  auto w = testing::RandomWeights(static_cast<WeightFormat>(state.range(0)), kN, kK, 64,
                                  ScaleType::kBf16, rng);
  const PackedQuantMatrix packed(w.view, static_cast<int>(state.range(2)));
  w.view.packed = &packed;
  TimeMatMul(state, w.view, state.range(1), rng);
}
BENCHMARK(BM_MatMulPacked)
    ->ArgsProduct({{static_cast<int>(WeightFormat::kQ8), static_cast<int>(WeightFormat::kQ4)},
                   {1, 16, 64, 256},
                   {16, 8}})
    ->Unit(benchmark::kMicrosecond);

// bf16 weights times bf16-rounded activations (--bf16-activations; AVX512-BF16 only): arg T.
void BM_MatMulPackedBf16(benchmark::State& state) {
  if (!CpuHasAvx512Bf16() || SelectedIsa() == Isa::kAvx2) {
    state.SkipWithError("needs AVX512-BF16");
    return;
  }
  std::mt19937 rng(1);
  auto w = testing::RandomWeights(WeightFormat::kBf16, kN, kK, 0, ScaleType::kBf16, rng);
  const PackedBf16Matrix packed(w.view);
  w.view.packed_bf16 = &packed;
  TimeMatMul(state, w.view, state.range(0), rng);
}
BENCHMARK(BM_MatMulPackedBf16)->Arg(1)->Arg(16)->Arg(64)->Arg(256)->Unit(benchmark::kMicrosecond);

// Decode against a matrix far larger than the caches (weights stream from DRAM, as in a real
// decode step): args format; W is [16384][4096].
void BM_MatMulFromDram(benchmark::State& state) {
  const auto format = static_cast<WeightFormat>(state.range(0));
  const int64_t N = 16384, K = 4096;
  std::mt19937 rng(1);
  auto w = testing::RandomWeights(format, N, K, 64, ScaleType::kBf16, rng);
  auto x = testing::RandomVector(static_cast<size_t>(K), rng);
  std::vector<float> y(static_cast<size_t>(N));
  ThreadPool pool(static_cast<int>(state.range(1)));
  for (auto _ : state) {
    MatMul(x.data(), 1, w.view, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["weight_GB/s"] =
      benchmark::Counter(static_cast<double>(w.view.total_bytes()) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MatMulFromDram)
    ->ArgsProduct({{static_cast<int>(WeightFormat::kBf16), static_cast<int>(WeightFormat::kQ8),
                    static_cast<int>(WeightFormat::kQ4)},
                   {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// S sequences of ctx cached tokens each, the last `queries` of them new in this step (causal).
// Qwen3-0.6B attention shape: 16 heads, 8 KV heads, head_dim 128, bf16 KV, blocks of 16.
// With layers > 1 the pool holds that many layers of KV (at 28, a decode step's 470 MB: more
// than any cache) in shuffled blocks, and each iteration attends the next layer, so K and V
// come from memory as in a model's step.
void RunAttention(benchmark::State& state, int32_t S, int32_t ctx, int32_t queries,
                  int32_t layers = 1, int threads = 1) {
  PagedAttentionArgs a;
  a.kv_dtype = KvDtype::kBf16;
  a.block_size = 16;
  a.num_heads = 16;
  a.num_kv_heads = 8;
  a.head_dim = 128;
  a.scale = 1.f / std::sqrt(128.f);
  a.num_seqs = S;
  a.max_blocks_per_seq = (ctx + 15) / 16;
  const size_t blocks = static_cast<size_t>(S) * a.max_blocks_per_seq;
  const size_t layer_elems = blocks * 8 * 16 * 128;
  // On 2 MiB pages, as the engine's KV pool.
  const size_t elems = layer_elems * layers;
  std::unique_ptr<uint16_t[], void (*)(void*)> k(
      static_cast<uint16_t*>(AllocateLarge(elems * sizeof(uint16_t))), std::free);
  std::unique_ptr<uint16_t[], void (*)(void*)> v(
      static_cast<uint16_t*>(AllocateLarge(elems * sizeof(uint16_t))), std::free);
  std::fill_n(k.get(), elems, uint16_t{0x3f80});
  std::fill_n(v.get(), elems, uint16_t{0x3f00});
  std::vector<int32_t> table(blocks);
  std::iota(table.begin(), table.end(), 0);
  std::mt19937 rng(2);
  if (layers > 1) std::shuffle(table.begin(), table.end(), rng);
  std::vector<int32_t> qs(static_cast<size_t>(S) + 1);
  std::iota(qs.begin(), qs.end(), 0);
  for (int32_t& start : qs) start *= queries;
  std::vector<int32_t> cl;
  cl.assign(static_cast<size_t>(S), ctx);
  a.query_start = qs.data();
  a.context_len = cl.data();
  a.block_table = table.data();
  auto q = testing::RandomVector(static_cast<size_t>(S) * queries * 16 * 128, rng);
  std::vector<float> out(q.size());
  ThreadPool pool(threads);
  int32_t layer = 0;
  for (auto _ : state) {
    a.k_pool = k.get() + layer * layer_elems;
    a.v_pool = v.get() + layer * layer_elems;
    layer = (layer + 1) % layers;
    PagedAttention(q.data(), a, out.data(), pool);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["KV_GB/s"] = benchmark::Counter(1e-9 * S * ctx * 8 * 128 * 2 * 2,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

// args: sequences, context.
void BM_DecodeAttention(benchmark::State& state) {
  RunAttention(state, static_cast<int32_t>(state.range(0)), static_cast<int32_t>(state.range(1)),
               1);
}
BENCHMARK(BM_DecodeAttention)
    ->Args({1, 256})
    ->Args({16, 256})
    ->Args({1, 4096})
    ->Unit(benchmark::kMicrosecond);

// args: sequences, context, threads; KV of 28 layers read from memory (see RunAttention).
void BM_DecodeAttentionFromMemory(benchmark::State& state) {
  RunAttention(state, static_cast<int32_t>(state.range(0)), static_cast<int32_t>(state.range(1)), 1,
               28, static_cast<int>(state.range(2)));
}
BENCHMARK(BM_DecodeAttentionFromMemory)
    ->Args({16, 256, 1})
    ->Args({16, 256, 2})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// args: prompt tokens, all new (one layer of a prefill), one thread.
void BM_PrefillAttention(benchmark::State& state) {
  const int32_t n = static_cast<int32_t>(state.range(0));
  RunAttention(state, 1, n, n);
}
BENCHMARK(BM_PrefillAttention)->Arg(512)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ts

BENCHMARK_MAIN();
