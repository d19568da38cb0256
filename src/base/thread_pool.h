// ThreadPool: a fixed set of worker threads that run one ParallelFor at a time.
//
// Owned by whoever creates it (app/ or a test) and passed by reference to the code that
// needs it; there is no global pool. The calling thread takes part in the work, so a pool of
// N threads starts N-1 workers. ParallelFor may be called from one thread at a time; a call
// made from inside a task runs inline.
//
// Results never depend on the number of threads: work is cut into chunks of a fixed grain
// (independent of the thread count) and each chunk runs whole on one thread, so kernels that
// give each output element to exactly one chunk are deterministic.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ts {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(begin, end) over [0, n) in chunks of `grain` (the last may be shorter).
  // Returns when every chunk has run.
  void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void WorkerLoop();

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mu_

  // Tries to claim and run chunks of job `generation`; returns when none is left.
  void RunChunks(uint64_t generation);

  // The current job; written by the caller before `claim_` announces its generation. Atomic
  // because a worker late for the previous job may read them while they change (it then
  // fails its claim and uses nothing it read).
  std::atomic<const std::function<void(int64_t, int64_t)>*> job_{nullptr};
  std::atomic<int64_t> job_n_{0};
  std::atomic<int64_t> job_grain_{1};
  std::atomic<int64_t> job_chunks_{0};
  // Generation (high 32 bits) and next chunk (low 32 bits) of the current job, claimed by
  // compare-and-swap: a worker that wakes after its job ended fails the swap and touches
  // nothing, so the caller waits only for chunks that are running, never for sleeping workers.
  std::atomic<uint64_t> claim_{0};
  std::atomic<int64_t> chunks_done_{0};
  std::atomic<uint64_t> generation_{0};
};

}  // namespace ts
