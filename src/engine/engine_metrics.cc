#include "engine/engine_metrics.h"

#include <algorithm>

namespace ts {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t bucket = static_cast<size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  ++counts_[bucket];
  sum_ += value;
}

Histogram::Snapshot Histogram::Take() const {
  std::lock_guard<std::mutex> lock(mu_);
  Snapshot s;
  s.upper_bounds = bounds_;
  uint64_t running = 0;
  for (uint64_t c : counts_) {
    running += c;
    s.cumulative_counts.push_back(running);
  }
  s.count = running;
  s.sum = sum_;
  return s;
}

namespace {
std::vector<double> LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}
}  // namespace

EngineMetrics::EngineMetrics()
    : step_seconds(LatencyBuckets()),
      forward_seconds(LatencyBuckets()),
      sampling_seconds(LatencyBuckets()),
      ttft_seconds(LatencyBuckets()),
      itl_seconds(LatencyBuckets()) {}

EngineMetricsSnapshot EngineMetrics::Take() const {
  EngineMetricsSnapshot s;
  s.queue_depth = queue_depth.load();
  s.running_seqs = running_seqs.load();
  s.preemptions_total = preemptions_total.load();
  s.prompt_tokens_total = prompt_tokens_total.load();
  s.generation_tokens_total = generation_tokens_total.load();
  s.prefix_hit_tokens_ram_total = prefix_hit_tokens_ram_total.load();
  s.prefix_hit_tokens_ssd_total = prefix_hit_tokens_ssd_total.load();
  s.requests_finished_total = requests_finished_total.load();
  s.requests_rejected_total = requests_rejected_total.load();
  s.kv_blocks_used = kv_blocks_used.load();
  s.kv_blocks_total = kv_blocks_total.load();
  s.step_seconds = step_seconds.Take();
  s.forward_seconds = forward_seconds.Take();
  s.sampling_seconds = sampling_seconds.Take();
  s.ttft_seconds = ttft_seconds.Take();
  s.itl_seconds = itl_seconds.Take();
  return s;
}

}  // namespace ts
