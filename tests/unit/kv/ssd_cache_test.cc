#include "kv/ssd/ssd_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ssd_test_util.h"

namespace ts {
namespace {

using testing::BlockHolds;
using testing::MakeChain;
using testing::SeedOf;
using testing::TestBlock;

class SsdCacheTest : public testing::SsdTestBase {};

TEST_F(SsdCacheTest, PersistThenLoad) {
  auto cache = Open(Options());
  const auto chain = MakeChain(3, kBlockSize, 1);
  for (const TestBlock& b : chain) Persist(cache.get(), b);
  cache->Flush();
  EXPECT_EQ(CountFiles(".kvb"), 3);
  EXPECT_EQ(CountFiles(".tmp"), 0);
  EXPECT_EQ(cache->MatchPrefix(std::vector<BlockHash>{chain[0].hash, chain[1].hash, chain[2].hash}),
            3);
  EXPECT_EQ(LoadAndWait(cache.get(), chain), 3);
  const SsdStats s = cache->stats();
  EXPECT_EQ(s.num_blocks, 3);
  EXPECT_EQ(s.num_bytes, 3 * static_cast<int64_t>(BlockFileHeaderBytes(kBlockSize) +
                                                  storage_.layout().block_bytes()));
  EXPECT_EQ(s.written_blocks, 3);
  EXPECT_EQ(s.hit_blocks, 3);
  EXPECT_EQ(s.pending_writes, 0);
}

TEST_F(SsdCacheTest, MatchPrefixStopsAtFirstMissingBlock) {
  auto cache = Open(Options());
  const auto chain = MakeChain(3, kBlockSize, 1);
  Persist(cache.get(), chain[0]);
  Persist(cache.get(), chain[2]);
  cache->Flush();
  EXPECT_EQ(cache->MatchPrefix(std::vector<BlockHash>{chain[0].hash, chain[1].hash, chain[2].hash}),
            1);
  EXPECT_EQ(LoadAndWait(cache.get(), chain), 1);
  EXPECT_EQ(cache->stats().miss_blocks, 2);
}

TEST_F(SsdCacheTest, WritesAreDeduplicated) {
  auto cache = Open(Options());
  const auto chain = MakeChain(1, kBlockSize, 1);
  Persist(cache.get(), chain[0]);
  Persist(cache.get(), chain[0]);
  cache->Flush();
  Persist(cache.get(), chain[0]);
  cache->Flush();
  EXPECT_EQ(cache->stats().written_blocks, 1);
  EXPECT_EQ(fs_.num_renames.load(), 1);
}

TEST_F(SsdCacheTest, FullQueueDropsAndCounts) {
  SsdCacheOptions options = Options();
  options.max_pending_write_bytes = 2 * static_cast<int64_t>(storage_.layout().block_bytes());
  fs_.delay_us = 20'000;  // slow disk: the queue fills
  auto cache = Open(options);
  const auto chain = MakeChain(10, kBlockSize, 1);
  for (const TestBlock& b : chain) Persist(cache.get(), b);
  const SsdStats before = cache->stats();
  EXPECT_GT(before.dropped_writes, 0);
  EXPECT_LE(before.pending_writes, 2);
  fs_.delay_us = 0;
  cache->Flush();
  const SsdStats after = cache->stats();
  EXPECT_EQ(after.written_blocks + after.dropped_writes, 10);
}

TEST_F(SsdCacheTest, QueuedBlockIsReadableFromTheQueue) {
  fs_.delay_us = 50'000;
  auto cache = Open(Options());
  const auto chain = MakeChain(2, kBlockSize, 1);
  Persist(cache.get(), chain[0], /*slot=*/0);
  Persist(cache.get(), chain[1], /*slot=*/1);
  // The pool reuses both blocks at once (evicted from RAM): the queue keeps its own copies.
  testing::FillBlock(&storage_, 0, 999);
  testing::FillBlock(&storage_, 1, 999);
  EXPECT_EQ(cache->MatchPrefix(std::vector<BlockHash>{chain[0].hash, chain[1].hash}), 2);
  EXPECT_EQ(LoadAndWait(cache.get(), chain), 2);
  EXPECT_EQ(cache->stats().written_blocks, 2);
}

TEST_F(SsdCacheTest, RestartKeepsBlocks) {
  const auto chain = MakeChain(4, kBlockSize, 1);
  {
    auto cache = Open(Options());
    for (const TestBlock& b : chain) Persist(cache.get(), b);
  }  // the destructor finishes queued writes
  auto cache = Open(Options());
  EXPECT_EQ(cache->stats().num_blocks, 4);
  EXPECT_EQ(LoadAndWait(cache.get(), chain), 4);
}

TEST_F(SsdCacheTest, SizeCapPrunesLeastRecentlyUsed) {
  const int64_t record = static_cast<int64_t>(BlockFileHeaderBytes(kBlockSize) +
                                              storage_.layout().block_bytes());
  SsdCacheOptions options = Options();
  options.max_bytes = 3 * record;
  auto cache = Open(options);
  const auto chain = MakeChain(5, kBlockSize, 1);
  for (int i = 0; i < 3; ++i) {
    Persist(cache.get(), chain[i]);
    cache->Flush();
    now_ += 10;
  }
  // Using block 0 makes block 1 the least recently used.
  EXPECT_EQ(LoadAndWait(cache.get(), std::span(chain).first(1)), 1);
  Persist(cache.get(), chain[3]);
  cache->Flush();
  EXPECT_EQ(cache->MatchPrefix(std::vector<BlockHash>{chain[1].hash}), 0);
  EXPECT_EQ(cache->MatchPrefix(std::vector<BlockHash>{chain[0].hash}), 1);
  EXPECT_FALSE(std::filesystem::exists(PathOf(chain[1].hash)));
  const SsdStats s = cache->stats();
  EXPECT_EQ(s.num_blocks, 3);
  EXPECT_LE(s.num_bytes, options.max_bytes);
  EXPECT_EQ(s.pruned_files, 1);
}

TEST_F(SsdCacheTest, RecencySurvivesRestart) {
  const int64_t record = static_cast<int64_t>(BlockFileHeaderBytes(kBlockSize) +
                                              storage_.layout().block_bytes());
  const auto chain = MakeChain(3, kBlockSize, 1);
  {
    auto cache = Open(Options());
    for (const TestBlock& b : chain) {
      Persist(cache.get(), b);
      cache->Flush();
      now_ += 10;
    }
    EXPECT_EQ(LoadAndWait(cache.get(), std::span(chain).first(1)), 1);  // block 0 most recent
  }
  SsdCacheOptions options = Options();
  options.max_bytes = 2 * record;
  auto cache = Open(options);
  EXPECT_EQ(cache->MatchPrefix(std::vector<BlockHash>{chain[0].hash}), 1);
  EXPECT_EQ(cache->MatchPrefix(std::vector<BlockHash>{chain[1].hash}), 0);
  EXPECT_EQ(cache->MatchPrefix(std::vector<BlockHash>{chain[2].hash}), 1);
}

TEST_F(SsdCacheTest, TtlExpiresRecords) {
  SsdCacheOptions options = Options();
  options.ttl_seconds = 100;
  const auto chain = MakeChain(2, kBlockSize, 1);
  {
    auto cache = Open(options);
    Persist(cache.get(), chain[0]);
    cache->Flush();
    now_ += 60;
    Persist(cache.get(), chain[1]);
    cache->Flush();
    now_ += 60;  // block 0 is 120 s old, block 1 is 60 s old
    EXPECT_EQ(cache->MatchPrefix(std::vector<BlockHash>{chain[0].hash}), 0);
    EXPECT_EQ(cache->MatchPrefix(std::vector<BlockHash>{chain[1].hash}), 1);
  }
  // The next start-up finds both past the TTL by their file times.
  now_ += 1000;
  auto cache = Open(options);
  EXPECT_EQ(cache->stats().num_blocks, 0);
  EXPECT_EQ(CountFiles(".kvb"), 0);
}

TEST_F(SsdCacheTest, ScanRemovesTempAndWrongSizeFilesAndKeepsOthers) {
  const auto chain = MakeChain(2, kBlockSize, 1);
  {
    auto cache = Open(Options());
    for (const TestBlock& b : chain) Persist(cache.get(), b);
  }
  std::filesystem::resize_file(PathOf(chain[1].hash), 100);
  std::ofstream(PathOf(chain[0].hash) + ".tmp") << "partial";
  std::filesystem::create_directories(dir_.path() + "/cache/00");
  std::ofstream(dir_.path() + "/cache/00/notes.txt") << "not ours";
  auto cache = Open(Options());
  const SsdStats s = cache->stats();
  EXPECT_EQ(s.num_blocks, 1);
  EXPECT_EQ(s.removed_temp_files, 1);
  EXPECT_EQ(s.removed_corrupt_files, 1);
  EXPECT_EQ(CountFiles(".tmp"), 0);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/cache/00/notes.txt"));
  EXPECT_EQ(LoadAndWait(cache.get(), chain), 1);
}

TEST_F(SsdCacheTest, LoadCallbackFires) {
  std::atomic<int> calls{0};
  SsdCacheOptions options = Options();
  options.on_load_done = [&calls] { ++calls; };
  auto cache = Open(options);
  const auto chain = MakeChain(1, kBlockSize, 1);
  Persist(cache.get(), chain[0]);
  EXPECT_EQ(LoadAndWait(cache.get(), chain), 1);
  EXPECT_EQ(calls.load(), 1);
}

TEST(SsdCacheOptionsTest, Validate) {
  SsdCacheOptions o;
  EXPECT_FALSE(o.Validate().ok());
  o.dir = "/tmp/x";
  EXPECT_TRUE(o.Validate().ok());
  o.max_bytes = -1;
  EXPECT_FALSE(o.Validate().ok());
  o.max_bytes = 0;
  o.ttl_seconds = -5;
  EXPECT_FALSE(o.Validate().ok());
}

}  // namespace
}  // namespace ts
