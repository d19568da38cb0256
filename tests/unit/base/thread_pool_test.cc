#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <vector>

namespace ts {
namespace {

TEST(ThreadPoolTest, CoversEveryIndexOnce) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 7, 64, 1001}) {
      for (int64_t grain : {1, 3, 16, 5000}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        pool.ParallelFor(n, grain, [&](int64_t b, int64_t e) {
          EXPECT_LE(e - b, grain);
          for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
        });
        for (auto& h : hits) EXPECT_EQ(h.load(), 1);
      }
    }
  }
}

TEST(ThreadPoolTest, ManySmallJobsAndNestedCalls) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  for (int rep = 0; rep < 2000; ++rep) {
    pool.ParallelFor(8, 1, [&](int64_t b, int64_t e) {
      // A nested call runs inline instead of deadlocking.
      pool.ParallelFor(4, 1, [&](int64_t b2, int64_t e2) { total.fetch_add(e2 - b2); });
      total.fetch_add(e - b);
    });
  }
  EXPECT_EQ(total.load(), 2000 * (8 + 8 * 4));
}

// Jobs of very different sizes back to back on an oversubscribed pool: a worker late for one
// job must never run or count a chunk of the next (each chunk of each job runs exactly once,
// and ParallelFor returns only when all have).
TEST(ThreadPoolTest, BackToBackJobsOfVaryingSizesRunEachChunkOnce) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(64);
  for (int rep = 0; rep < 20000; ++rep) {
    const int64_t n = rep % 3 == 0 ? 64 : 2 + rep % 5;
    for (int64_t i = 0; i < n; ++i) hits[static_cast<size_t>(i)].store(0);
    pool.ParallelFor(n, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
    });
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "rep " << rep << " chunk " << i;
    }
  }
}

}  // namespace
}  // namespace ts
