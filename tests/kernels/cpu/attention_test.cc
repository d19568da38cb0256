#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "base/thread_pool.h"
#include "tests/kernels/cpu/test_weights.h"

namespace ts {
namespace {

// A pool with a random block table per sequence: sequences of odd lengths, a mix of prefill
// chunks and single decode tokens, GQA, an odd head_dim.
struct Scenario {
  int32_t num_heads = 6, num_kv_heads = 2, head_dim = 40, block_size = 5;
  std::vector<int32_t> cached = {0, 13, 7, 30};  // tokens already in the cache
  std::vector<int32_t> num_new = {9, 1, 4, 1};   // tokens this step
};

void RunScenario(const Scenario& sc, KvDtype dtype, double tolerance) {
  std::mt19937 rng(11);
  ThreadPool pool(2);
  const int32_t S = static_cast<int32_t>(sc.cached.size());
  PagedAttentionArgs a;
  a.kv_dtype = dtype;
  a.block_size = sc.block_size;
  a.num_heads = sc.num_heads;
  a.num_kv_heads = sc.num_kv_heads;
  a.head_dim = sc.head_dim;
  a.scale = 1.f / std::sqrt(static_cast<float>(sc.head_dim));
  a.num_seqs = S;
  std::vector<int32_t> query_start(S + 1, 0), context_len(S);
  for (int32_t s = 0; s < S; ++s) {
    query_start[s + 1] = query_start[s] + sc.num_new[s];
    context_len[s] = sc.cached[s] + sc.num_new[s];
  }
  a.max_blocks_per_seq = 0;
  for (int32_t c : context_len) {
    a.max_blocks_per_seq = std::max(a.max_blocks_per_seq, (c + sc.block_size - 1) / sc.block_size);
  }
  const int32_t num_blocks = S * a.max_blocks_per_seq;
  std::vector<int32_t> ids(num_blocks);
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), rng);  // blocks scattered through the pool
  std::vector<int32_t> table(ids.begin(), ids.end());
  const size_t pool_elems = static_cast<size_t>(num_blocks) * sc.num_kv_heads * sc.block_size * sc.head_dim;
  std::vector<uint8_t> k_pool(pool_elems * KvDtypeBytes(dtype)), v_pool(k_pool.size());
  // Fill every cached and new position through WriteKv, as the model does.
  for (int32_t s = 0; s < S; ++s) {
    for (int32_t p = 0; p < context_len[s]; ++p) {
      auto k = testing::RandomVector(static_cast<size_t>(sc.num_kv_heads * sc.head_dim), rng);
      auto v = testing::RandomVector(k.size(), rng);
      int64_t slot = static_cast<int64_t>(table[s * a.max_blocks_per_seq + p / sc.block_size]) *
                         sc.block_size + p % sc.block_size;
      a.block_size = sc.block_size;
      WriteKv(k.data(), v.data(), &slot, 1, a, k_pool.data(), v_pool.data());
    }
  }
  a.k_pool = k_pool.data();
  a.v_pool = v_pool.data();
  a.query_start = query_start.data();
  a.context_len = context_len.data();
  a.block_table = table.data();
  const int32_t T = query_start[S];
  auto q = testing::RandomVector(static_cast<size_t>(T * sc.num_heads * sc.head_dim), rng, 2.f);
  std::vector<float> want(q.size());
  reference::PagedAttention(q.data(), a, want.data());
  for (Isa isa : AvailableIsas()) {
  SCOPED_TRACE(IsaName(isa));
  std::vector<float> got(q.size(), std::nanf(""));
  PagedAttentionWithIsa(isa, q.data(), a, got.data(), pool);
  double max_err = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_FALSE(std::isnan(got[i])) << i;
    max_err = std::max(max_err, std::fabs(static_cast<double>(got[i]) - want[i]));
  }
  EXPECT_LT(max_err, tolerance) << "kv dtype " << static_cast<int>(dtype);

  // Batch invariance: each sequence alone gives bitwise the same rows.
  for (int32_t s = 0; s < S; ++s) {
    PagedAttentionArgs one = a;
    one.num_seqs = 1;
    int32_t qs[2] = {0, sc.num_new[s]};
    one.query_start = qs;
    one.context_len = &context_len[s];
    one.block_table = &table[s * a.max_blocks_per_seq];
    const size_t row = static_cast<size_t>(sc.num_heads * sc.head_dim);
    std::vector<float> alone(row * sc.num_new[s]);
    PagedAttentionWithIsa(isa, q.data() + query_start[s] * row, one, alone.data(), pool);
    EXPECT_EQ(std::memcmp(alone.data(), got.data() + query_start[s] * row,
                          alone.size() * sizeof(float)), 0)
        << "sequence " << s;
  }
  }
}

TEST(PagedAttentionTest, MatchesReferenceF32) { RunScenario(Scenario{}, KvDtype::kF32, 1e-5); }
TEST(PagedAttentionTest, MatchesReferenceBf16) { RunScenario(Scenario{}, KvDtype::kBf16, 1e-5); }
TEST(PagedAttentionTest, MatchesReferenceF16) { RunScenario(Scenario{}, KvDtype::kF16, 1e-5); }

TEST(PagedAttentionTest, MultiHeadNoGqaLargeBlocks) {
  Scenario sc;
  sc.num_heads = 3;
  sc.num_kv_heads = 3;
  sc.head_dim = 18;
  sc.block_size = 16;
  sc.cached = {40, 0};
  sc.num_new = {3, 21};
  RunScenario(sc, KvDtype::kF32, 1e-5);
}

// Qwen3's shape with more sequences than the pool's threads need: in the batch each task takes
// every kv head of a block, alone a sequence is cut into runs of heads; rows must not change.
TEST(PagedAttentionTest, WholeBlockTasksMatchHeadRuns) {
  Scenario sc;
  sc.num_heads = 16;
  sc.num_kv_heads = 8;
  sc.head_dim = 128;
  sc.block_size = 16;
  sc.cached = {40, 0, 300, 17, 5, 64, 1, 90, 33};
  sc.num_new = {1, 21, 1, 1, 1, 2, 1, 1, 3};
  RunScenario(sc, KvDtype::kBf16, 1e-5);
  RunScenario(sc, KvDtype::kF16, 1e-5);
}

// Groups of four query heads (pairs only), head_dim past one 32-element chunk by a part.
TEST(PagedAttentionTest, GroupsOfFourOddHeadDim) {
  Scenario sc;
  sc.num_heads = 12;
  sc.num_kv_heads = 3;
  sc.head_dim = 72;
  sc.block_size = 7;
  RunScenario(sc, KvDtype::kF32, 1e-5);
  RunScenario(sc, KvDtype::kBf16, 1e-5);
}

}  // namespace
}  // namespace ts
