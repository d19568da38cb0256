#include "base/thread_pool.h"

#include <algorithm>

#include "base/check.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TS_CPU_RELAX() _mm_pause()
#else
#define TS_CPU_RELAX() ((void)0)
#endif

namespace ts {
namespace {

// Workers spin this many rounds for the next job before sleeping: decode steps issue a few
// hundred ParallelFors per token, and a futex wake-up per call would cost more than the work.
constexpr int kSpinRounds = 20000;

// A claim word's chunk while a job is being set up: above any chunk count.
constexpr uint64_t kClosed = 0xffffffffu;

thread_local bool t_inside_pool_task = false;

}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  CHECK_GE(num_threads, 1);
  workers_.reserve(num_threads - 1);
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::RunChunks(uint64_t generation) {
  for (;;) {
    uint64_t claim = claim_.load(std::memory_order_acquire);
    if ((claim >> 32) != (generation & 0xffffffffu)) return;  // another job by now
    const int64_t chunk = static_cast<int64_t>(claim & 0xffffffffu);
    if (chunk >= job_chunks_.load(std::memory_order_relaxed)) return;
    if (!claim_.compare_exchange_weak(claim, claim + 1, std::memory_order_acq_rel)) continue;
    // The claim succeeded, so the job is still this generation's until the chunk is done.
    const int64_t grain = job_grain_.load(std::memory_order_relaxed);
    const int64_t begin = chunk * grain;
    (*job_.load(std::memory_order_relaxed))(
        begin, std::min(job_n_.load(std::memory_order_relaxed), begin + grain));
    chunks_done_.fetch_add(1, std::memory_order_release);
  }
}

void ThreadPool::ParallelFor(int64_t n, int64_t grain,
                             const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  if (workers_.empty() || t_inside_pool_task || n <= grain) {
    for (int64_t b = 0; b < n; b += grain) fn(b, std::min(n, b + grain));
    return;
  }
  const uint64_t generation = generation_.load(std::memory_order_relaxed) + 1;
  const int64_t num_chunks = (n + grain - 1) / grain;
  CHECK_LT(num_chunks, int64_t{1} << 32);
  // Close the previous job's claims before its fields change: a worker late for it may have
  // read its claim word and be about to compare it with the new chunk count; with the word
  // changed its swap fails, so no chunk of the new job runs twice or is counted early.
  claim_.store(((generation & 0xffffffffu) << 32) | kClosed, std::memory_order_seq_cst);
  job_.store(&fn, std::memory_order_relaxed);
  job_n_.store(n, std::memory_order_relaxed);
  job_grain_.store(grain, std::memory_order_relaxed);
  job_chunks_.store(num_chunks, std::memory_order_relaxed);
  chunks_done_.store(0, std::memory_order_relaxed);
  claim_.store((generation & 0xffffffffu) << 32, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mu_);
    generation_.store(generation, std::memory_order_release);
  }
  wake_.notify_all();
  t_inside_pool_task = true;
  RunChunks(generation);
  t_inside_pool_task = false;
  // Only chunks already running on a worker are waited for. Spin briefly, then yield: on an
  // oversubscribed machine that worker may be off the CPU.
  for (int spins = 0; chunks_done_.load(std::memory_order_acquire) != num_chunks; ++spins) {
    if (spins < kSpinRounds / 10) {
      TS_CPU_RELAX();
    } else {
      std::this_thread::yield();
    }
  }
}

void ThreadPool::WorkerLoop() {
  t_inside_pool_task = true;
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int i = 0; i < kSpinRounds && gen == seen; ++i) {
      if (i < kSpinRounds / 10) {
        TS_CPU_RELAX();
      } else {
        std::this_thread::yield();
      }
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock,
                 [&] { return stop_ || generation_.load(std::memory_order_acquire) != seen; });
      if (stop_) return;
      gen = generation_.load(std::memory_order_acquire);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
    }
    seen = gen;
    RunChunks(gen);
  }
}

}  // namespace ts
