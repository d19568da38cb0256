#include "app/bench/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/check.h"

namespace ts::loadgen {

std::optional<double> Tpot(const RequestResult& r) {
  if (!r.ok || r.completion_tokens < 2) return std::nullopt;
  return (r.e2e_s - r.ttft_s) / static_cast<double>(r.completion_tokens - 1);
}

double Percentile(std::span<const double> sorted, double p) {
  CHECK(!sorted.empty());
  CHECK(p >= 0 && p <= 100) << p;
  const double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

Summary Summarize(std::vector<double> values) {
  Summary s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  s.count = static_cast<int64_t>(values.size());
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  s.p50 = Percentile(values, 50);
  s.p90 = Percentile(values, 90);
  s.p99 = Percentile(values, 99);
  s.max = values.back();
  return s;
}

bool MeetsSlo(const RequestResult& r, const Slo& slo) {
  if (!r.ok) return false;
  if (slo.ttft_s && r.ttft_s > *slo.ttft_s) return false;
  if (slo.e2e_s && r.e2e_s > *slo.e2e_s) return false;
  if (slo.tpot_s) {
    const std::optional<double> tpot = Tpot(r);
    if (tpot && *tpot > *slo.tpot_s) return false;
  }
  return true;
}

RunMetrics ComputeMetrics(std::span<const RequestResult> results, double duration_s,
                          const Slo& slo) {
  CHECK(duration_s > 0) << duration_s;
  RunMetrics m;
  m.duration_s = duration_s;
  m.num_requests = static_cast<int64_t>(results.size());
  std::vector<double> ttft, tpot, itl, e2e;
  for (const RequestResult& r : results) {
    if (!r.ok) continue;
    ++m.num_ok;
    if (MeetsSlo(r, slo)) ++m.num_meeting_slo;
    m.prompt_tokens += r.prompt_tokens;
    m.completion_tokens += r.completion_tokens;
    m.cached_tokens += r.cached_tokens;
    m.cached_tokens_ram += r.cached_tokens_ram;
    m.cached_tokens_ssd += r.cached_tokens_ssd;
    ttft.push_back(r.ttft_s);
    e2e.push_back(r.e2e_s);
    if (const std::optional<double> t = Tpot(r)) tpot.push_back(*t);
    itl.insert(itl.end(), r.itl_s.begin(), r.itl_s.end());
  }
  m.requests_per_s = static_cast<double>(m.num_ok) / duration_s;
  m.input_tokens_per_s = static_cast<double>(m.prompt_tokens) / duration_s;
  m.output_tokens_per_s = static_cast<double>(m.completion_tokens) / duration_s;
  m.goodput_requests_per_s = static_cast<double>(m.num_meeting_slo) / duration_s;
  m.ttft_s = Summarize(std::move(ttft));
  m.tpot_s = Summarize(std::move(tpot));
  m.itl_s = Summarize(std::move(itl));
  m.e2e_s = Summarize(std::move(e2e));
  return m;
}

}  // namespace ts::loadgen
