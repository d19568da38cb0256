#include "kv/block_pool.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "kv_test_util.h"

namespace ts {
namespace {

using testing::Tokens;

constexpr int32_t kBlockSize = 4;

// A prompt's tokens and its block hashes.
struct Prompt {
  std::vector<int32_t> tokens;
  std::vector<BlockHash> hashes;
};

Prompt MakePrompt(int32_t num_blocks, uint64_t seed) {
  Prompt p{.tokens = Tokens(static_cast<size_t>(num_blocks * kBlockSize), seed), .hashes = {}};
  HashFullBlocks({.low = 1, .high = 1}, p.tokens, kBlockSize, 0, "", &p.hashes);
  return p;
}

// Allocates fresh blocks for p, commits them all and returns the ids.
std::vector<int32_t> AllocateAndCommit(BlockPool* pool, const Prompt& p) {
  std::vector<int32_t> ids;
  EXPECT_TRUE(pool->Allocate({}, static_cast<int32_t>(p.hashes.size()), &ids).ok());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_TRUE(pool->Commit(ids[i], p.hashes[i],
                             std::span(p.tokens).subspan(i * kBlockSize, kBlockSize)));
  }
  return ids;
}

TEST(BlockPoolTest, FreshPoolAllocatesDistinctBlocks) {
  BlockPool pool(8, kBlockSize);
  EXPECT_EQ(pool.num_free_blocks(), 8);
  std::vector<int32_t> ids;
  ASSERT_TRUE(pool.Allocate({}, 5, &ids).ok());
  EXPECT_EQ(std::set<int32_t>(ids.begin(), ids.end()).size(), 5u);
  for (int32_t id : ids) EXPECT_EQ(pool.refcount(id), 1);
  EXPECT_EQ(pool.num_free_blocks(), 3);
  EXPECT_EQ(pool.num_referenced_blocks(), 5);
}

TEST(BlockPoolTest, OutOfBlocksChangesNothing) {
  BlockPool pool(4, kBlockSize);
  std::vector<int32_t> ids;
  ASSERT_TRUE(pool.Allocate({}, 3, &ids).ok());
  std::vector<int32_t> more;
  Status s = pool.Allocate({}, 2, &more);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(more.empty());
  EXPECT_EQ(pool.num_free_blocks(), 1);
  EXPECT_EQ(pool.num_referenced_blocks(), 3);
}

TEST(BlockPoolTest, ReleasedCommittedBlocksStayFindable) {
  BlockPool pool(8, kBlockSize);
  const Prompt p = MakePrompt(3, 1);
  std::vector<int32_t> ids = AllocateAndCommit(&pool, p);
  pool.Release(ids);
  EXPECT_EQ(pool.num_evictable_blocks(), 3);
  EXPECT_EQ(pool.num_referenced_blocks(), 0);
  std::vector<int32_t> found;
  EXPECT_EQ(pool.MatchPrefix(p.hashes, p.tokens, &found), 3);
  EXPECT_EQ(found, ids);
  // Taking them back moves them from evictable to referenced.
  std::vector<int32_t> seq;
  ASSERT_TRUE(pool.Allocate(found, 1, &seq).ok());
  EXPECT_EQ(seq.size(), 4u);
  EXPECT_EQ(pool.num_evictable_blocks(), 0);
  EXPECT_EQ(pool.refcount(ids[0]), 1);
}

TEST(BlockPoolTest, UncommittedBlocksGoStraightToFree) {
  BlockPool pool(4, kBlockSize);
  std::vector<int32_t> ids;
  ASSERT_TRUE(pool.Allocate({}, 4, &ids).ok());
  pool.Release(ids);
  EXPECT_EQ(pool.num_free_blocks(), 4);
  EXPECT_EQ(pool.num_evictable_blocks(), 0);
}

TEST(BlockPoolTest, HitRequiresEqualTokens) {
  BlockPool pool(8, kBlockSize);
  const Prompt p = MakePrompt(2, 1);
  pool.Release(AllocateAndCommit(&pool, p));
  // Same hashes, other tokens in block 1: as if the 128-bit hash collided.
  std::vector<int32_t> tokens = p.tokens;
  tokens[kBlockSize + 1] += 1;
  std::vector<int32_t> found;
  EXPECT_EQ(pool.MatchPrefix(p.hashes, tokens, &found), 1);
  tokens[0] += 1;
  found.clear();
  EXPECT_EQ(pool.MatchPrefix(p.hashes, tokens, &found), 0);
}

TEST(BlockPoolTest, MatchStopsAtFirstMissingBlock) {
  BlockPool pool(8, kBlockSize);
  const Prompt p = MakePrompt(4, 1);
  std::vector<int32_t> ids;
  ASSERT_TRUE(pool.Allocate({}, 4, &ids).ok());
  pool.Commit(ids[0], p.hashes[0], std::span(p.tokens).first(kBlockSize));
  pool.Commit(ids[2], p.hashes[2], std::span(p.tokens).subspan(2 * kBlockSize, kBlockSize));
  std::vector<int32_t> found;
  EXPECT_EQ(pool.MatchPrefix(p.hashes, p.tokens, &found), 1);
}

TEST(BlockPoolTest, SharedBlocksAreRefcounted) {
  BlockPool pool(8, kBlockSize);
  const Prompt p = MakePrompt(2, 1);
  std::vector<int32_t> a = AllocateAndCommit(&pool, p);
  std::vector<int32_t> found;
  ASSERT_EQ(pool.MatchPrefix(p.hashes, p.tokens, &found), 2);
  std::vector<int32_t> b;
  ASSERT_TRUE(pool.Allocate(found, 0, &b).ok());
  EXPECT_EQ(pool.refcount(a[0]), 2);
  pool.Release(a);
  EXPECT_EQ(pool.refcount(a[0]), 1);
  EXPECT_EQ(pool.num_evictable_blocks(), 0);
  pool.Release(b);
  EXPECT_EQ(pool.num_evictable_blocks(), 2);
}

TEST(BlockPoolTest, EvictsLeastRecentlyUsedAndTailFirst) {
  BlockPool pool(6, kBlockSize);
  const Prompt old_prompt = MakePrompt(3, 1);
  const Prompt new_prompt = MakePrompt(3, 2);
  std::vector<int32_t> old_ids = AllocateAndCommit(&pool, old_prompt);
  std::vector<int32_t> new_ids = AllocateAndCommit(&pool, new_prompt);
  pool.Release(old_ids);
  pool.Release(new_ids);
  // One block needed: the old prompt's last block goes first.
  std::vector<int32_t> taken;
  ASSERT_TRUE(pool.Allocate({}, 1, &taken).ok());
  EXPECT_EQ(taken[0], old_ids[2]);
  EXPECT_EQ(pool.num_evictions(), 1);
  std::vector<int32_t> found;
  EXPECT_EQ(pool.MatchPrefix(old_prompt.hashes, old_prompt.tokens, &found), 2);
  found.clear();
  EXPECT_EQ(pool.MatchPrefix(new_prompt.hashes, new_prompt.tokens, &found), 3);
  // Two more: the old prompt's remaining blocks, tail before head.
  taken.clear();
  ASSERT_TRUE(pool.Allocate({}, 2, &taken).ok());
  EXPECT_EQ(taken, (std::vector<int32_t>{old_ids[1], old_ids[0]}));
  found.clear();
  EXPECT_EQ(pool.MatchPrefix(new_prompt.hashes, new_prompt.tokens, &found), 3);
}

TEST(BlockPoolTest, TouchMovesAnEvictableBlockToTheBackOfTheEvictionOrder) {
  BlockPool pool(4, kBlockSize);
  const Prompt a = MakePrompt(2, 1), b = MakePrompt(2, 2);
  std::vector<int32_t> a_ids = AllocateAndCommit(&pool, a);
  std::vector<int32_t> b_ids = AllocateAndCommit(&pool, b);
  pool.Release(a_ids);
  pool.Release(b_ids);
  pool.Touch(a_ids[1]);
  pool.Touch(b_ids[0]);  // still evictable; now last
  std::vector<int32_t> taken;
  ASSERT_TRUE(pool.Allocate({}, 4, &taken).ok());
  EXPECT_EQ(taken, (std::vector<int32_t>{a_ids[0], b_ids[1], a_ids[1], b_ids[0]}));
  pool.Touch(taken[0]);  // referenced: no-op
  EXPECT_EQ(pool.refcount(taken[0]), 1);
}

TEST(BlockPoolTest, ReferencedBlocksAreNeverEvicted) {
  BlockPool pool(4, kBlockSize);
  const Prompt p = MakePrompt(2, 1);
  std::vector<int32_t> held = AllocateAndCommit(&pool, p);
  std::vector<int32_t> other;
  ASSERT_TRUE(pool.Allocate({}, 2, &other).ok());
  std::vector<int32_t> more;
  EXPECT_EQ(pool.Allocate({}, 1, &more).code(), StatusCode::kResourceExhausted);
  std::vector<int32_t> found;
  EXPECT_EQ(pool.MatchPrefix(p.hashes, p.tokens, &found), 2);
}

TEST(BlockPoolTest, CachedEvictableBlocksCannotPayForThemselves) {
  BlockPool pool(3, kBlockSize);
  const Prompt p = MakePrompt(2, 1);
  pool.Release(AllocateAndCommit(&pool, p));
  std::vector<int32_t> found;
  ASSERT_EQ(pool.MatchPrefix(p.hashes, p.tokens, &found), 2);
  // 1 free + 2 evictable, but the 2 evictable are the hit: only 1 fresh block is possible.
  EXPECT_TRUE(pool.CanAllocate(found, 1));
  EXPECT_FALSE(pool.CanAllocate(found, 2));
  std::vector<int32_t> seq;
  EXPECT_EQ(pool.Allocate(found, 2, &seq).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(pool.num_evictable_blocks(), 2);
  ASSERT_TRUE(pool.Allocate(found, 1, &seq).ok());
  EXPECT_EQ(pool.num_free_blocks(), 0);
}

TEST(BlockPoolTest, DuplicateCommitStaysPrivate) {
  BlockPool pool(4, kBlockSize);
  const Prompt p = MakePrompt(1, 1);
  std::vector<int32_t> a = AllocateAndCommit(&pool, p);
  std::vector<int32_t> b;
  ASSERT_TRUE(pool.Allocate({}, 1, &b).ok());
  EXPECT_FALSE(pool.Commit(b[0], p.hashes[0], p.tokens));
  EXPECT_FALSE(pool.is_committed(b[0]));
  pool.Release(b);
  EXPECT_EQ(pool.num_free_blocks(), 3);
  std::vector<int32_t> found;
  ASSERT_EQ(pool.MatchPrefix(p.hashes, p.tokens, &found), 1);
  EXPECT_EQ(found[0], a[0]);
}

TEST(BlockPoolDeathTest, BrokenInvariantsStop) {
  BlockPool pool(2, kBlockSize);
  std::vector<int32_t> ids;
  ASSERT_TRUE(pool.Allocate({}, 1, &ids).ok());
  pool.Release(ids);
  EXPECT_DEATH(pool.Release(ids), "unreferenced");
}

}  // namespace
}  // namespace ts
