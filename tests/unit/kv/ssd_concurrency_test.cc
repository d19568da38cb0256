// The parts of the SSD tier two threads touch, under load: the owner (engine) thread persists
// and loads while the I/O thread writes and reads on a slow, intermittently failing disk, a
// third thread flips the faults, and load completions wake the owner through on_load_done.
// Meant to run under TSan as well as in the plain and ASan builds.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "kv/ssd/ssd_cache.h"
#include "ssd_test_util.h"

namespace ts {
namespace {

using testing::MakeChain;
using testing::SeedOf;
using testing::TestBlock;

class SsdConcurrencyTest : public testing::SsdTestBase {};

TEST_F(SsdConcurrencyTest, OwnerAndIoThreadUnderFaults) {
  constexpr int kPersistSlots = 4;  // pool blocks [0, 4) stage persists; [8, 16) receive loads
  const auto chain = MakeChain(600, kBlockSize, 3);
  std::mutex wake_mu;
  std::condition_variable wake;
  int wakeups = 0;
  SsdCacheOptions options = Options();
  options.max_pending_write_bytes = 16 * static_cast<int64_t>(storage_.layout().block_bytes());
  options.max_bytes = 300 * static_cast<int64_t>(BlockFileHeaderBytes(kBlockSize) +
                                                 storage_.layout().block_bytes());
  options.on_load_done = [&] {
    std::lock_guard<std::mutex> lock(wake_mu);
    ++wakeups;
    wake.notify_one();
  };
  fs_.skip_sync = true;
  auto cache = Open(options);

  std::atomic<bool> done{false};
  std::thread chaos([&] {
    std::mt19937 rng(5);
    while (!done.load()) {
      fs_.delay_us = static_cast<int>(rng() % 300);
      fs_.write_errno = rng() % 8 == 0 ? EIO : 0;
      fs_.read_errno = rng() % 16 == 0 ? EIO : 0;
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });

  std::mt19937 rng(11);
  std::map<uint64_t, size_t> in_flight;  // load id -> first chain index (loads use slots 8..)
  uint64_t next_load_id = 1;
  int64_t loaded_blocks = 0;
  size_t persisted = 0;
  auto collect = [&] {
    for (const SsdLoadResult& r : cache->PollLoads()) {
      const size_t first = in_flight.at(r.load_id);
      for (int32_t i = 0; i < r.num_blocks_loaded; ++i) {
        ASSERT_TRUE(testing::BlockHolds(storage_, 8 + i, SeedOf(chain[first + i].hash)))
            << "corrupt hit";
      }
      loaded_blocks += r.num_blocks_loaded;
      in_flight.erase(r.load_id);
    }
  };
  while (persisted < chain.size()) {
    for (int k = 0; k < 3 && persisted < chain.size(); ++k, ++persisted) {
      Persist(cache.get(), chain[persisted], static_cast<int32_t>(persisted % kPersistSlots));
    }
    // One load at a time owns slots 8..15: up to 8 blocks starting anywhere already persisted.
    if (in_flight.empty()) {
      const size_t first = rng() % persisted;
      const size_t n = std::min<size_t>(1 + rng() % 8, persisted - first);
      SsdLoadRequest request{.load_id = next_load_id++, .hashes = {}, .tokens = {},
                             .block_ids = {}};
      for (size_t i = 0; i < n; ++i) {
        request.hashes.push_back(chain[first + i].hash);
        request.tokens.insert(request.tokens.end(), chain[first + i].tokens.begin(),
                              chain[first + i].tokens.end());
        request.block_ids.push_back(8 + static_cast<int32_t>(i));
      }
      in_flight[request.load_id] = first;
      cache->Load(std::move(request));
    }
    if (rng() % 4 == 0) {
      std::unique_lock<std::mutex> lock(wake_mu);
      wake.wait_for(lock, std::chrono::milliseconds(5), [&] { return wakeups > 0; });
      wakeups = 0;
    }
    ASSERT_NO_FATAL_FAILURE(collect());
    const SsdStats s = cache->stats();
    ASSERT_LE(s.pending_writes, 16);
    ASSERT_LE(s.num_bytes, options.max_bytes);
  }
  done = true;
  chaos.join();
  fs_.delay_us = 0;
  fs_.write_errno = 0;
  fs_.read_errno = 0;
  cache->Flush();
  ASSERT_NO_FATAL_FAILURE(collect());
  EXPECT_TRUE(in_flight.empty());
  const SsdStats s = cache->stats();
  EXPECT_EQ(s.written_blocks + s.dropped_writes + s.write_errors, 600);
  EXPECT_EQ(s.hit_blocks, loaded_blocks);
  EXPECT_GT(loaded_blocks, 0);
  EXPECT_EQ(CountFiles(".tmp"), 0);
}

}  // namespace
}  // namespace ts
