// A fixture for SsdCache tests: a small pool, a temp directory, a fault-injecting file system
// over the real one, a fake clock, and helpers to persist and load seeded blocks.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/file_system.h"
#include "fault_file_system.h"
#include "kv/ssd/block_file.h"
#include "kv/ssd/ssd_cache.h"
#include "kv_test_util.h"

namespace ts::testing {

inline constexpr BlockHash kFingerprint{.low = 0xf00d, .high = 0xcafe};

// Block i of a fixed chain: tokens, hash, parent and content seed.
struct TestBlock {
  std::vector<int32_t> tokens;
  BlockHash hash;
  BlockHash parent;
};

inline std::vector<TestBlock> MakeChain(int32_t n, int32_t block_size, uint64_t seed) {
  std::vector<TestBlock> blocks;
  BlockHash parent = kFingerprint;
  for (int32_t i = 0; i < n; ++i) {
    TestBlock b{.tokens = Tokens(static_cast<size_t>(block_size), seed * 1000 + i), .hash = {},
                .parent = parent};
    b.hash = HashBlock(parent, b.tokens, "");
    parent = b.hash;
    blocks.push_back(std::move(b));
  }
  return blocks;
}

class SsdTestBase : public ::testing::Test {
 protected:
  static constexpr int32_t kBlockSize = 4;
  static constexpr int32_t kNumBlocks = 16;

  SsdTestBase() : storage_(KvStorage::Create(SmallLayout(kBlockSize), kNumBlocks).value()) {}

  SsdCacheOptions Options() const {
    SsdCacheOptions o;
    o.dir = dir_.path() + "/cache";
    o.now_seconds = [this] { return now_.load(); };
    return o;
  }

  std::unique_ptr<SsdCache> Open(const SsdCacheOptions& options,
                                 const BlockHash& fingerprint = kFingerprint) {
    auto cache = SsdCache::Open(options, fingerprint, &storage_, &fs_);
    EXPECT_TRUE(cache.ok()) << cache.status().ToString();
    return cache.ok() ? std::move(cache).value() : nullptr;
  }

  // Writes block b's content into pool block `slot` and persists it.
  void Persist(SsdCache* cache, const TestBlock& b, int32_t slot = 0) {
    FillBlock(&storage_, slot, SeedOf(b.hash));
    cache->Persist(b.hash, b.parent, b.tokens, slot);
  }

  // Loads blocks into pool blocks 8.. and waits; returns how many arrived (and checks them).
  int32_t LoadAndWait(SsdCache* cache, std::span<const TestBlock> blocks) {
    SsdLoadRequest request{.load_id = ++last_load_id_, .hashes = {}, .tokens = {}, .block_ids = {}};
    for (size_t i = 0; i < blocks.size(); ++i) {
      request.hashes.push_back(blocks[i].hash);
      request.tokens.insert(request.tokens.end(), blocks[i].tokens.begin(), blocks[i].tokens.end());
      request.block_ids.push_back(8 + static_cast<int32_t>(i));
      FillBlock(&storage_, 8 + static_cast<int32_t>(i), 0);
    }
    cache->Load(std::move(request));
    cache->Flush();
    std::vector<SsdLoadResult> results = cache->PollLoads();
    EXPECT_EQ(results.size(), 1u);
    if (results.empty()) return -1;
    EXPECT_EQ(results[0].load_id, last_load_id_);
    for (int32_t i = 0; i < results[0].num_blocks_loaded; ++i) {
      EXPECT_TRUE(BlockHolds(storage_, 8 + i, SeedOf(blocks[static_cast<size_t>(i)].hash)))
          << "wrong KV in loaded block " << i;
    }
    return results[0].num_blocks_loaded;
  }

  std::string PathOf(const BlockHash& h) const {
    return dir_.path() + "/cache/" + BlockFileName(h);
  }

  // Files under the cache directory whose names end in suffix.
  int CountFiles(const std::string& suffix) const {
    int n = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path())) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && name.size() >= suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        ++n;
      }
    }
    return n;
  }

  TempDir dir_;
  KvStorage storage_;
  PosixFileSystem posix_;
  FaultFileSystem fs_{&posix_};
  // Starts at the real time; tests move it forward.
  std::atomic<int64_t> now_{std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()};
  uint64_t last_load_id_ = 0;
};

}  // namespace ts::testing
