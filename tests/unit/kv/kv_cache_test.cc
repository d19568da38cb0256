#include "kv/kv_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <vector>

#include "fault_file_system.h"
#include "kv_test_util.h"

namespace ts {
namespace {

using testing::FillViewBlock;
using testing::SeedOf;
using testing::Tokens;
using testing::ViewBlockHolds;

constexpr int32_t kBlockSize = 4;

class KvCacheTest : public ::testing::Test {
 protected:
  KvCacheOptions Options(int32_t num_blocks, bool with_ssd) {
    KvCacheOptions o;
    o.layout = testing::SmallLayout(kBlockSize);
    o.num_blocks = num_blocks;
    o.model_fingerprint = {.low = 42, .high = 43};
    if (with_ssd) {
      SsdCacheOptions ssd;
      ssd.dir = dir_.path() + "/ssd";
      o.ssd = ssd;
    }
    return o;
  }

  KvCacheTest() { fs_.skip_sync = true; }

  std::unique_ptr<KvCache> Create(const KvCacheOptions& options) {
    auto cache = KvCache::Create(options, &fs_);
    EXPECT_TRUE(cache.ok()) << cache.status().ToString();
    return std::move(cache).value();
  }

  static std::vector<BlockHash> HashesOf(const KvCache& cache, std::span<const int32_t> tokens,
                                         const CacheKeys& keys) {
    std::vector<BlockHash> hashes;
    HashFullBlocks(ChainRoot(cache.cache_fingerprint(), keys.salt), tokens, kBlockSize, 0,
                   keys.extra, &hashes);
    return hashes;
  }

  // "Computes" KV for tokens [from, to) of seq: each full block gets its hash's pattern.
  static void Compute(KvCache* cache, const KvSequence& seq, std::span<const int32_t> tokens,
                      const CacheKeys& keys) {
    const std::vector<BlockHash> hashes = HashesOf(*cache, tokens, keys);
    for (size_t i = static_cast<size_t>(seq.num_cached_tokens() / kBlockSize); i < hashes.size();
         ++i) {
      FillViewBlock(cache->pool_view(), seq.block_ids()[i], SeedOf(hashes[i]));
    }
  }

  // Admits prompt as the engine would, checks the KV of every cached block, computes the rest
  // and commits. Returns the sequence; *cached_tokens gets the tokens served from cache.
  KvSequence Run(KvCache* cache, const std::vector<int32_t>& prompt, const CacheKeys& keys,
                 int32_t* cached_tokens) {
    PrefixHit hit = cache->Lookup(prompt, keys);
    auto seq = cache->Allocate(hit, prompt, static_cast<int32_t>(prompt.size()), keys);
    EXPECT_TRUE(seq.ok()) << seq.status().ToString();
    if (seq->is_loading()) {
      cache->FlushSsd();
      std::vector<uint64_t> done = cache->PollLoads();
      EXPECT_EQ(done, std::vector<uint64_t>{seq->load_id()});
      cache->FinishLoad(&*seq);
    }
    EXPECT_FALSE(seq->is_loading());
    const std::vector<BlockHash> hashes = HashesOf(*cache, prompt, keys);
    for (int32_t i = 0; i < seq->num_cached_tokens() / kBlockSize; ++i) {
      EXPECT_TRUE(ViewBlockHolds(cache->pool_view(), seq->block_ids()[static_cast<size_t>(i)],
                                 SeedOf(hashes[static_cast<size_t>(i)])))
          << "wrong KV served for block " << i;
    }
    *cached_tokens = seq->num_cached_tokens();
    Compute(cache, *seq, prompt, keys);
    cache->Commit(&*seq, prompt, static_cast<int32_t>(prompt.size()));
    return std::move(seq).value();
  }

  testing::TempDir dir_;
  PosixFileSystem posix_;
  testing::FaultFileSystem fs_{&posix_};
};

TEST_F(KvCacheTest, MissThenRamHit) {
  auto cache = Create(Options(64, /*with_ssd=*/false));
  const std::vector<int32_t> prompt = Tokens(10 * kBlockSize + 2, 1);
  int32_t cached = -1;
  cache->Free(Run(cache.get(), prompt, {}, &cached));
  EXPECT_EQ(cached, 0);
  cache->Free(Run(cache.get(), prompt, {}, &cached));
  EXPECT_EQ(cached, 10 * kBlockSize);
  const KvCacheStats s = cache->stats();
  EXPECT_EQ(s.ram_hit_blocks, 10);
  EXPECT_EQ(s.ram_miss_blocks, 10);
  EXPECT_EQ(s.ram_cached_blocks, 10);
  EXPECT_EQ(s.ram_free_blocks, 54);
  EXPECT_EQ(s.ram_used_blocks, 0);
  EXPECT_FALSE(s.ssd_enabled);
}

TEST_F(KvCacheTest, SharedPrefixAcrossRunningSequences) {
  auto cache = Create(Options(64, false));
  std::vector<int32_t> a = Tokens(8 * kBlockSize, 1);
  std::vector<int32_t> b(a.begin(), a.begin() + 5 * kBlockSize);
  const std::vector<int32_t> tail = Tokens(3 * kBlockSize + 1, 2);
  b.insert(b.end(), tail.begin(), tail.end());
  int32_t cached = -1;
  KvSequence sa = Run(cache.get(), a, {}, &cached);
  KvSequence sb = Run(cache.get(), b, {}, &cached);
  EXPECT_EQ(cached, 5 * kBlockSize);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(sa.block_ids()[i], sb.block_ids()[i]);
  EXPECT_NE(sa.block_ids()[5], sb.block_ids()[5]);
  cache->Free(std::move(sa));
  cache->Free(std::move(sb));
}

TEST_F(KvCacheTest, LastPromptTokenIsAlwaysComputed) {
  auto cache = Create(Options(64, false));
  const std::vector<int32_t> prompt = Tokens(4 * kBlockSize, 1);
  int32_t cached = -1;
  cache->Free(Run(cache.get(), prompt, {}, &cached));
  cache->Free(Run(cache.get(), prompt, {}, &cached));
  EXPECT_EQ(cached, 4 * kBlockSize - 1);
}

// A prompt that ends a cached block: that block is copied into the sequence's own block and only
// the last token is left to compute; the shared block is never written. With a pool of exactly
// the prompt's blocks, the fresh block is the evicted tail block itself: the copy still holds.
TEST_F(KvCacheTest, BlockAlignedPromptCopiesItsCachedLastBlock) {
  for (const int32_t num_blocks : {64, 4}) {
    SCOPED_TRACE(num_blocks);
    auto cache = Create(Options(num_blocks, false));
    const std::vector<int32_t> prompt = Tokens(4 * kBlockSize, 1);
    const std::vector<BlockHash> hashes = HashesOf(*cache, prompt, {});
    int32_t cached = -1;
    KvSequence first = Run(cache.get(), prompt, {}, &cached);
    const int32_t tail_block = first.block_ids()[3];
    cache->Free(std::move(first));

    const PrefixHit hit = cache->Lookup(prompt, {});
    EXPECT_EQ(hit.num_ram_blocks(), 3);
    EXPECT_EQ(hit.tail_block_id, tail_block);
    EXPECT_EQ(hit.num_cached_tokens(kBlockSize), 4 * kBlockSize - 1);
    auto seq = cache->Allocate(hit, prompt, static_cast<int32_t>(prompt.size()), {});
    ASSERT_TRUE(seq.ok()) << seq.status().ToString();
    EXPECT_EQ(seq->num_cached_tokens(), 4 * kBlockSize - 1);
    EXPECT_TRUE(ViewBlockHolds(cache->pool_view(), seq->block_ids()[3], SeedOf(hashes[3])));
    if (num_blocks == 64) {
      EXPECT_NE(seq->block_ids()[3], tail_block);
    }
    cache->Commit(&*seq, prompt, static_cast<int32_t>(prompt.size()));
    cache->Free(std::move(seq).value());
    EXPECT_EQ(cache->stats().ram_cached_blocks, 4);

    std::vector<int32_t> other = prompt;
    other.back() += 1;
    EXPECT_EQ(cache->Lookup(other, {}).tail_block_id, -1);
  }
}

// A one-block prompt's tail hash chains from the root: salt and extra keys still isolate it.
TEST_F(KvCacheTest, OneBlockPromptTailIsKeyedBySaltAndExtra) {
  auto cache = Create(Options(64, false));
  const std::vector<int32_t> prompt = Tokens(kBlockSize, 1);
  int32_t cached = -1;
  cache->Free(Run(cache.get(), prompt, {.salt = "a", .extra = ""}, &cached));
  EXPECT_GE(cache->Lookup(prompt, {.salt = "a", .extra = ""}).tail_block_id, 0);
  EXPECT_EQ(cache->Lookup(prompt, {.salt = "b", .extra = ""}).tail_block_id, -1);
  EXPECT_EQ(cache->Lookup(prompt, {.salt = "a", .extra = "x"}).tail_block_id, -1);
  EXPECT_EQ(cache->Lookup(prompt, {}).tail_block_id, -1);
}

// Allocate copies the tail only while the index still holds it: a hit whose tail block was
// reused by another sequence since Lookup computes that block instead.
TEST_F(KvCacheTest, StaleTailHitIsComputedNotCopied) {
  auto cache = Create(Options(4, false));
  const std::vector<int32_t> prompt = Tokens(4 * kBlockSize, 1);
  int32_t cached = -1;
  cache->Free(Run(cache.get(), prompt, {}, &cached));
  const PrefixHit stale = cache->Lookup(prompt, {});
  ASSERT_GE(stale.tail_block_id, 0);
  // Another prompt takes all four blocks, evicting the cached ones (the tail first).
  cache->Free(Run(cache.get(), Tokens(4 * kBlockSize, 2), {}, &cached));
  PrefixHit tail_only;  // the stale hit's tail (its other blocks are gone too)
  tail_only.tail_block_id = stale.tail_block_id;
  tail_only.tail_hash = stale.tail_hash;
  auto again = cache->Allocate(tail_only, prompt, static_cast<int32_t>(prompt.size()), {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->num_cached_tokens(), 0) << "a block now holding other tokens was copied";
  cache->Free(std::move(again).value());
}

TEST_F(KvCacheTest, SaltAndExtraKeysIsolate) {
  auto cache = Create(Options(64, false));
  const std::vector<int32_t> prompt = Tokens(5 * kBlockSize, 1);
  int32_t cached = -1;
  cache->Free(Run(cache.get(), prompt, {.salt = "tenant-a", .extra = ""}, &cached));
  cache->Free(Run(cache.get(), prompt, {.salt = "tenant-b", .extra = ""}, &cached));
  EXPECT_EQ(cached, 0);
  cache->Free(Run(cache.get(), prompt, {.salt = "tenant-a", .extra = "adapter-1"}, &cached));
  EXPECT_EQ(cached, 0);
  cache->Free(Run(cache.get(), prompt, {.salt = "tenant-a", .extra = ""}, &cached));
  EXPECT_EQ(cached, 5 * kBlockSize - 1);
}

TEST_F(KvCacheTest, OutOfBlocksIsAResultAndChangesNothing) {
  auto cache = Create(Options(8, false));
  int32_t cached = -1;
  KvSequence running = Run(cache.get(), Tokens(6 * kBlockSize, 1), {}, &cached);
  const KvCacheStats before = cache->stats();
  const std::vector<int32_t> prompt = Tokens(3 * kBlockSize, 2);
  auto seq = cache->Allocate(cache->Lookup(prompt, {}), prompt,
                             static_cast<int32_t>(prompt.size()), {});
  EXPECT_EQ(seq.status().code(), StatusCode::kResourceExhausted);
  const KvCacheStats after = cache->stats();
  EXPECT_EQ(after.ram_free_blocks, before.ram_free_blocks);
  EXPECT_EQ(after.ram_miss_blocks, before.ram_miss_blocks);
  EXPECT_EQ(cache->Grow(&running, 9 * kBlockSize).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(running.block_ids().size(), 6u);
  cache->Free(std::move(running));
}

TEST_F(KvCacheTest, DecodeGrowsAndCommitsGeneratedBlocks) {
  auto cache = Create(Options(64, false));
  std::vector<int32_t> tokens = Tokens(5, 1);
  PrefixHit hit = cache->Lookup(tokens, {});
  KvSequence seq = cache->Allocate(hit, tokens, 5, {}).value();
  EXPECT_EQ(seq.block_ids().size(), 2u);
  Compute(cache.get(), seq, tokens, {});
  cache->Commit(&seq, tokens, 5);
  for (int32_t step = 0; step < 8; ++step) {
    tokens.push_back(1000 + step);
    ASSERT_TRUE(cache->Grow(&seq, static_cast<int32_t>(tokens.size())).ok());
    Compute(cache.get(), seq, tokens, {});
    cache->Commit(&seq, tokens, static_cast<int32_t>(tokens.size()));
  }
  EXPECT_EQ(seq.block_ids().size(), 4u);  // 13 tokens
  cache->Free(std::move(seq));
  // A follow-up turn that starts with the whole conversation reuses the generated blocks.
  tokens.push_back(7);
  int32_t cached = -1;
  cache->Free(Run(cache.get(), tokens, {}, &cached));
  EXPECT_EQ(cached, 3 * kBlockSize);
}

TEST_F(KvCacheTest, SsdHitAfterEvictionThenRamHit) {
  auto cache = Create(Options(8, /*with_ssd=*/true));
  const std::vector<int32_t> a = Tokens(4 * kBlockSize + 1, 1);
  int32_t cached = -1;
  cache->Free(Run(cache.get(), a, {}, &cached));
  cache->FlushSsd();
  cache->Free(Run(cache.get(), Tokens(8 * kBlockSize, 2), {}, &cached));  // evicts all of a
  PrefixHit hit = cache->Lookup(a, {});
  EXPECT_EQ(hit.num_ram_blocks(), 0);
  EXPECT_EQ(hit.num_ssd_blocks, 4);
  cache->Free(Run(cache.get(), a, {}, &cached));
  EXPECT_EQ(cached, 4 * kBlockSize);
  hit = cache->Lookup(a, {});
  EXPECT_EQ(hit.num_ram_blocks(), 4);
  const KvCacheStats s = cache->stats();
  EXPECT_TRUE(s.ssd_enabled);
  EXPECT_EQ(s.ssd.hit_blocks, 4);
  EXPECT_GE(s.ssd.written_blocks, 12);
  EXPECT_EQ(s.ssd.miss_blocks, 4 + 7);  // the two cold prompts (the last token is never cached)
}

TEST_F(KvCacheTest, FreeWhileLoadingReturnsBlocksWhenTheLoadEnds) {
  auto cache = Create(Options(8, true));
  const std::vector<int32_t> a = Tokens(4 * kBlockSize + 1, 1);
  int32_t cached = -1;
  cache->Free(Run(cache.get(), a, {}, &cached));
  cache->FlushSsd();
  cache->Free(Run(cache.get(), Tokens(8 * kBlockSize, 2), {}, &cached));
  auto seq = cache->Allocate(cache->Lookup(a, {}), a, static_cast<int32_t>(a.size()), {});
  ASSERT_TRUE(seq.ok());
  ASSERT_TRUE(seq->is_loading());
  cache->Free(std::move(seq).value());
  cache->FlushSsd();
  EXPECT_TRUE(cache->PollLoads().empty());
  const KvCacheStats s = cache->stats();
  EXPECT_EQ(s.ram_used_blocks, 0);
  EXPECT_EQ(s.ram_free_blocks + s.ram_cached_blocks, 8);
}

TEST_F(KvCacheTest, FreeAfterPollBeforeFinishLoad) {
  auto cache = Create(Options(8, true));
  const std::vector<int32_t> a = Tokens(2 * kBlockSize + 1, 1);
  int32_t cached = -1;
  cache->Free(Run(cache.get(), a, {}, &cached));
  cache->FlushSsd();
  cache->Free(Run(cache.get(), Tokens(8 * kBlockSize, 2), {}, &cached));
  KvSequence seq = cache->Allocate(cache->Lookup(a, {}), a, 9, {}).value();
  cache->FlushSsd();
  EXPECT_EQ(cache->PollLoads().size(), 1u);
  cache->Free(std::move(seq));
  EXPECT_EQ(cache->stats().ram_used_blocks, 0);
}

TEST_F(KvCacheTest, RestartServesFromSsd) {
  const std::vector<int32_t> prompt = Tokens(6 * kBlockSize + 3, 1);
  int32_t cached = -1;
  {
    auto cache = Create(Options(16, true));
    cache->Free(Run(cache.get(), prompt, {}, &cached));
  }
  auto cache = Create(Options(16, true));
  EXPECT_EQ(cache->stats().ssd.num_blocks, 6);
  cache->Free(Run(cache.get(), prompt, {}, &cached));
  EXPECT_EQ(cached, 6 * kBlockSize);
}

TEST_F(KvCacheTest, OptionsAreValidated) {
  KvCacheOptions o = Options(0, false);
  EXPECT_FALSE(o.Validate().ok());  // neither --num-blocks nor --kv-cache-memory
  o.memory_bytes = 100;             // less than one block
  EXPECT_FALSE(o.Validate().ok());
  o.memory_bytes = 10 * 1024 + 1;
  ASSERT_TRUE(o.Validate().ok());
  auto cache = KvCache::Create(o, &fs_);
  ASSERT_TRUE(cache.ok());
  EXPECT_EQ((*cache)->num_blocks(), 10);
  o.layout.block_size = 0;
  EXPECT_FALSE(o.Validate().ok());
}

}  // namespace
}  // namespace ts
