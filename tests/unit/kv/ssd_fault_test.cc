// Fault tests of the SSD tier: damaged, truncated and foreign records, full and read-only disks,
// failing and slow I/O, and a process killed with SIGKILL in the middle of writing. In every
// case: no corrupt hit, every intact record still hits, and the cache keeps serving.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "kv/ssd/ssd_cache.h"
#include "ssd_test_util.h"

namespace ts {
namespace {

using testing::MakeChain;
using testing::TestBlock;

class SsdFaultTest : public testing::SsdTestBase {
 protected:
  void WriteChain(const std::vector<TestBlock>& chain) {
    auto cache = Open(Options());
    for (const TestBlock& b : chain) Persist(cache.get(), b);
  }
  void FlipByte(const BlockHash& h, uint64_t offset) {
    std::fstream f(PathOf(h), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x01);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(&c, 1);
  }
};

TEST_F(SsdFaultTest, FlippedBytesAreMissesAndRemoved) {
  const uint64_t header = BlockFileHeaderBytes(kBlockSize);
  // A byte in the fixed header, in the token ids, and in the payload.
  for (uint64_t offset : {uint64_t{20}, uint64_t{100}, header + 77}) {
    const auto chain = MakeChain(3, kBlockSize, offset);
    WriteChain(chain);
    FlipByte(chain[1].hash, offset);
    auto cache = Open(Options());
    ASSERT_EQ(cache->MatchPrefix(std::vector<BlockHash>{chain[0].hash, chain[1].hash,
                                                        chain[2].hash}),
              3);
    EXPECT_EQ(LoadAndWait(cache.get(), chain), 1) << "offset " << offset;
    EXPECT_EQ(cache->stats().removed_corrupt_files, 1);
    EXPECT_FALSE(std::filesystem::exists(PathOf(chain[1].hash)));
    EXPECT_EQ(cache->MatchPrefix(std::vector<BlockHash>{chain[1].hash}), 0);
    // The intact block after the bad one still hits on its own.
    EXPECT_EQ(LoadAndWait(cache.get(), std::span(chain).subspan(2)), 1);
  }
}

TEST_F(SsdFaultTest, TruncatedWhileRunningIsAMiss) {
  const auto chain = MakeChain(2, kBlockSize, 1);
  auto cache = Open(Options());
  for (const TestBlock& b : chain) Persist(cache.get(), b);
  cache->Flush();
  std::filesystem::resize_file(PathOf(chain[0].hash), 200);
  EXPECT_EQ(LoadAndWait(cache.get(), chain), 0);
  EXPECT_EQ(cache->stats().removed_corrupt_files, 1);
  std::filesystem::remove(PathOf(chain[1].hash));  // missing: also a counted miss
  EXPECT_EQ(LoadAndWait(cache.get(), std::span(chain).subspan(1)), 0);
  EXPECT_EQ(cache->stats().removed_corrupt_files, 2);
  EXPECT_EQ(cache->stats().num_blocks, 0);
}

TEST_F(SsdFaultTest, OtherFingerprintIsAMissAndRemoved) {
  const auto chain = MakeChain(1, kBlockSize, 1);
  WriteChain(chain);
  auto cache = Open(Options(), BlockHash{.low = 1, .high = 1});
  EXPECT_EQ(LoadAndWait(cache.get(), chain), 0);
  EXPECT_EQ(cache->stats().removed_corrupt_files, 1);
  EXPECT_EQ(CountFiles(".kvb"), 0);
}

TEST_F(SsdFaultTest, OtherLayoutIsRemovedAtStartUp) {
  const auto chain = MakeChain(2, kBlockSize, 1);
  WriteChain(chain);
  // Same directory, 8-token blocks: every record has the wrong size.
  KvStorage other = KvStorage::Create(testing::SmallLayout(8), 4).value();
  auto cache = SsdCache::Open(Options(), testing::kFingerprint, &other, &fs_);
  ASSERT_TRUE(cache.ok());
  EXPECT_EQ((*cache)->stats().removed_corrupt_files, 2);
  EXPECT_EQ((*cache)->stats().num_blocks, 0);
}

TEST_F(SsdFaultTest, WriteFaultsLeaveNoRecordAndNoTempFile) {
  struct Fault {
    const char* name;
    std::atomic<int>* knob;
    int error;
  };
  const Fault faults[] = {{"create EROFS", &fs_.create_errno, EROFS},
                          {"write EIO", &fs_.write_errno, EIO},
                          {"write ENOSPC", &fs_.write_errno, ENOSPC},
                          {"fsync EIO", &fs_.sync_errno, EIO},
                          {"rename EIO", &fs_.rename_errno, EIO}};
  auto cache = Open(Options());
  uint64_t seed = 1;
  for (const Fault& fault : faults) {
    const auto chain = MakeChain(2, kBlockSize, ++seed);
    fault.knob->store(fault.error);
    Persist(cache.get(), chain[0]);
    cache->Flush();
    fault.knob->store(0);
    Persist(cache.get(), chain[1]);
    cache->Flush();
    EXPECT_EQ(cache->MatchPrefix(std::vector<BlockHash>{chain[0].hash}), 0) << fault.name;
    EXPECT_EQ(LoadAndWait(cache.get(), std::span(chain).subspan(1)), 1) << fault.name;
    EXPECT_EQ(CountFiles(".tmp"), 0) << fault.name;
  }
  EXPECT_EQ(cache->stats().write_errors, 5);
}

TEST_F(SsdFaultTest, ShortWritesAndFullDiskAreCountedAndServingContinues) {
  auto cache = Open(Options());
  const auto chain = MakeChain(6, kBlockSize, 1);
  fs_.short_write_bytes = 50;
  Persist(cache.get(), chain[0]);
  cache->Flush();
  fs_.short_write_bytes = -1;
  // Room for about one and a half records.
  fs_.space_bytes = static_cast<int64_t>(
      (BlockFileHeaderBytes(kBlockSize) + storage_.layout().block_bytes()) * 3 / 2);
  for (int i = 1; i < 6; ++i) Persist(cache.get(), chain[static_cast<size_t>(i)], i);
  cache->Flush();
  const SsdStats s = cache->stats();
  EXPECT_EQ(s.written_blocks, 1);
  EXPECT_EQ(s.write_errors, 5);
  EXPECT_EQ(CountFiles(".tmp"), 0);
  EXPECT_EQ(CountFiles(".kvb"), 1);
  EXPECT_EQ(LoadAndWait(cache.get(), std::span(chain).subspan(1, 1)), 1);
  fs_.space_bytes = -1;
  Persist(cache.get(), chain[2]);
  cache->Flush();
  EXPECT_EQ(LoadAndWait(cache.get(), std::span(chain).subspan(1, 2)), 2);
}

TEST_F(SsdFaultTest, ReadErrorsAndSlowDiskAreMisses) {
  const auto chain = MakeChain(2, kBlockSize, 1);
  WriteChain(chain);
  auto cache = Open(Options());
  fs_.delay_us = 2000;
  EXPECT_EQ(LoadAndWait(cache.get(), chain), 2);
  fs_.read_errno = EIO;
  EXPECT_EQ(LoadAndWait(cache.get(), chain), 0);
  fs_.read_errno = 0;
  EXPECT_EQ(cache->stats().removed_corrupt_files, 1);
  EXPECT_EQ(LoadAndWait(cache.get(), std::span(chain).subspan(1)), 1);
}

// A real small tmpfs: the kernel, not the fault file system, says ENOSPC. Needs CAP_SYS_ADMIN
// (root in a container is enough here); skipped elsewhere.
class SsdTmpfsTest : public testing::SsdTestBase {
 protected:
  bool Mount(const std::string& options) {
    mount_point_ = dir_.path() + "/cache";
    std::filesystem::create_directories(mount_point_);
    mounted_ = ::mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, options.c_str()) == 0;
    return mounted_;
  }
  bool RemountReadOnly() {
    return ::mount("tmpfs", mount_point_.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) == 0;
  }
  ~SsdTmpfsTest() override {
    if (mounted_) ::umount2(mount_point_.c_str(), MNT_DETACH);
  }
  std::string mount_point_;
  bool mounted_ = false;
};

TEST_F(SsdTmpfsTest, FullTmpfs) {
  // 256 subdirectories take no data pages; 48 KiB holds a few 1 KiB records and then fills.
  if (!Mount("size=48k,nr_inodes=2000")) GTEST_SKIP() << "cannot mount tmpfs: " << errno;
  auto cache = Open(Options());
  ASSERT_NE(cache, nullptr);
  const auto chain = MakeChain(80, kBlockSize, 1);
  for (size_t i = 0; i < chain.size(); ++i) {
    Persist(cache.get(), chain[i], static_cast<int32_t>(i % 8));
    cache->Flush();
  }
  const SsdStats s = cache->stats();
  EXPECT_GT(s.write_errors, 0);
  EXPECT_GT(s.written_blocks, 0);
  EXPECT_EQ(CountFiles(".tmp"), 0);
  // Every record the index holds loads with the right KV; the rest are plain misses.
  int hits = 0;
  for (const TestBlock& b : chain) {
    if (cache->MatchPrefix(std::vector<BlockHash>{b.hash}) == 1) {
      EXPECT_EQ(LoadAndWait(cache.get(), std::span(&b, 1)), 1);
      ++hits;
    }
  }
  EXPECT_EQ(hits, s.written_blocks);
}

TEST_F(SsdTmpfsTest, ReadOnlyDirectoryStillServesReads) {
  if (!Mount("size=4m")) GTEST_SKIP() << "cannot mount tmpfs: " << errno;
  const auto chain = MakeChain(3, kBlockSize, 1);
  {
    auto cache = Open(Options());
    Persist(cache.get(), chain[0]);
    Persist(cache.get(), chain[1]);
  }
  ASSERT_TRUE(RemountReadOnly()) << errno;
  auto cache = Open(Options());
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(LoadAndWait(cache.get(), std::span(chain).first(2)), 2);
  Persist(cache.get(), chain[2]);
  cache->Flush();
  EXPECT_EQ(cache->stats().write_errors, 1);
  EXPECT_EQ(cache->MatchPrefix(std::vector<BlockHash>{chain[2].hash}), 0);
}

// A child process writes records as fast as it can and is killed with SIGKILL; the next
// process must find only whole records, all of which hit.
TEST_F(SsdFaultTest, KillDuringWritesThenRestart) {
  constexpr int kMaxBlocks = 100'000;
  // Bigger blocks (256 KiB) so that the kill lands inside a write more often.
  const KvLayout layout{.num_layers = 4, .num_kv_heads = 8, .head_dim = 64, .block_size = 16,
                        .dtype = KvDtype::kF32};
  const auto chain = MakeChain(kMaxBlocks, layout.block_size, 7);
  SsdCacheOptions options = Options();
  options.now_seconds = nullptr;
  options.max_pending_write_bytes = 8 * static_cast<int64_t>(layout.block_bytes());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    KvStorage storage = KvStorage::Create(layout, 2).value();
    PosixFileSystem fs;
    auto cache = SsdCache::Open(options, testing::kFingerprint, &storage, &fs);
    if (!cache.ok()) ::_exit(1);
    for (int i = 0; i < kMaxBlocks; ++i) {
      testing::FillBlock(&storage, i % 2, testing::SeedOf(chain[static_cast<size_t>(i)].hash));
      (*cache)->Persist(chain[static_cast<size_t>(i)].hash, chain[static_cast<size_t>(i)].parent,
                        chain[static_cast<size_t>(i)].tokens, i % 2);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    ::_exit(0);
  }
  // Let it write for a while (at least a few records), then kill it mid-stream.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (CountFiles(".kvb") < 20 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer finished before it was killed";

  KvStorage storage = KvStorage::Create(layout, 1).value();
  auto cache = SsdCache::Open(options, testing::kFingerprint, &storage, &fs_);
  ASSERT_TRUE(cache.ok());
  EXPECT_EQ(CountFiles(".tmp"), 0);
  const int64_t on_disk = (*cache)->stats().num_blocks;
  EXPECT_GE(on_disk, 20);
  int64_t hits = 0;
  uint64_t load_id = 0;
  for (const TestBlock& b : chain) {
    if ((*cache)->MatchPrefix(std::vector<BlockHash>{b.hash}) == 0) continue;
    (*cache)->Load({.load_id = ++load_id, .hashes = {b.hash}, .tokens = b.tokens,
                    .block_ids = {0}});
    (*cache)->Flush();
    const auto results = (*cache)->PollLoads();
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].num_blocks_loaded, 1) << "an intact record missed";
    EXPECT_TRUE(testing::BlockHolds(storage, 0, testing::SeedOf(b.hash))) << "corrupt hit";
    hits += results[0].num_blocks_loaded;
    if (hits == on_disk) break;
  }
  EXPECT_EQ(hits, on_disk);
  EXPECT_EQ((*cache)->stats().removed_corrupt_files, 0);
}

}  // namespace
}  // namespace ts
