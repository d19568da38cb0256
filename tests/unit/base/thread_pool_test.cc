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

}  // namespace
}  // namespace ts
