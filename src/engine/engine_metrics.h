// Engine metrics: counters and histograms the engine thread updates and /metrics reads.
// Everything is atomic or copied under a lock, so any thread may take a snapshot.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace ts {

// A fixed-bucket histogram (Prometheus style: cumulative counts per upper bound, sum, count).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);
  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<uint64_t> cumulative_counts;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Take() const;

 private:
  mutable std::mutex mu_;
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; last is +Inf
  double sum_ = 0;
};

struct EngineMetricsSnapshot {
  int64_t queue_depth = 0;
  int64_t running_seqs = 0;
  int64_t preemptions_total = 0;
  int64_t prompt_tokens_total = 0;
  int64_t generation_tokens_total = 0;
  int64_t prefix_hit_tokens_ram_total = 0;
  int64_t prefix_hit_tokens_ssd_total = 0;
  int64_t requests_finished_total = 0;
  int64_t requests_rejected_total = 0;
  int64_t kv_blocks_used = 0;
  int64_t kv_blocks_total = 0;
  Histogram::Snapshot step_seconds;
  // Parts of a step: the model's forward pass, then logit processing and sampling. The rest of
  // step_seconds is scheduling and bookkeeping (plan, batch, commit, emitting tokens).
  Histogram::Snapshot forward_seconds;
  Histogram::Snapshot sampling_seconds;
  Histogram::Snapshot ttft_seconds;
  Histogram::Snapshot itl_seconds;
};

struct EngineMetrics {
  EngineMetrics();
  std::atomic<int64_t> queue_depth{0}, running_seqs{0}, preemptions_total{0},
      prompt_tokens_total{0}, generation_tokens_total{0}, prefix_hit_tokens_ram_total{0},
      prefix_hit_tokens_ssd_total{0}, requests_finished_total{0}, requests_rejected_total{0},
      kv_blocks_used{0}, kv_blocks_total{0};
  Histogram step_seconds, forward_seconds, sampling_seconds, ttft_seconds, itl_seconds;

  EngineMetricsSnapshot Take() const;
};

}  // namespace ts
