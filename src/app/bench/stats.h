// Serving statistics: per-request timings in, the figures the field quotes out (TTFT, TPOT, ITL,
// end-to-end latency as mean/p50/p90/p99; throughput; goodput under an SLO). Pure functions over
// values, so tests feed them numbers and no server.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ts::loadgen {

// One request as the client saw it. Times are seconds; start_s is measured from the run's start,
// the others from the moment the request was sent.
struct RequestResult {
  bool ok = false;
  std::string error;
  int32_t phase = 0;  // restart workload: 0 before the restart, 1 after
  double start_s = 0;
  double ttft_s = 0;              // first content-carrying chunk
  double e2e_s = 0;               // last byte of the response
  std::vector<double> itl_s;      // gaps between successive content-carrying chunks
  int64_t prompt_tokens = 0;      // server-reported (usage)
  int64_t completion_tokens = 0;  // server-reported; else the number of content chunks
  int64_t cached_tokens = 0;      // usage.prompt_tokens_details.cached_tokens
  int64_t cached_tokens_ram = 0;  // tierserve's split of cached_tokens (0 from other servers)
  int64_t cached_tokens_ssd = 0;
};

// Time per output token after the first: (e2e - ttft) / (completion_tokens - 1); nullopt for
// requests with fewer than two tokens, which have none.
std::optional<double> Tpot(const RequestResult& r);

struct Summary {
  int64_t count = 0;
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double max = 0;
};

// Linear interpolation between closest ranks (numpy's default), so the p50 of {1, 2, 3, 4} is 2.5.
// REQUIRES: sorted ascending, not empty; 0 <= p <= 100.
double Percentile(std::span<const double> sorted, double p);

// All zero for no values.
Summary Summarize(std::vector<double> values);

// Service-level objective: a request counts toward goodput when it succeeded and meets every bound
// that is set.
struct Slo {
  std::optional<double> ttft_s;
  std::optional<double> tpot_s;
  std::optional<double> e2e_s;
};

bool MeetsSlo(const RequestResult& r, const Slo& slo);

struct RunMetrics {
  int64_t num_requests = 0;
  int64_t num_ok = 0;
  int64_t num_meeting_slo = 0;
  double duration_s = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;
  int64_t cached_tokens_ram = 0;
  int64_t cached_tokens_ssd = 0;
  double requests_per_s = 0;
  double input_tokens_per_s = 0;
  double output_tokens_per_s = 0;
  double goodput_requests_per_s = 0;
  Summary ttft_s;
  Summary tpot_s;
  Summary itl_s;
  Summary e2e_s;
};

// Token and request counts include successful requests only; rates divide by duration_s (the
// run's wall time). REQUIRES: duration_s > 0.
RunMetrics ComputeMetrics(std::span<const RequestResult> results, double duration_s,
                          const Slo& slo);

}  // namespace ts::loadgen
