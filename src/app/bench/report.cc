#include "app/bench/report.h"

namespace ts::loadgen {

namespace {

void PrintLatency(std::FILE* out, const char* name, const Summary& s) {
  std::fprintf(out, "  %-22s %10.1f %10.1f %10.1f %10.1f %10.1f\n", name, s.mean * 1e3, s.p50 * 1e3,
               s.p90 * 1e3, s.p99 * 1e3, s.max * 1e3);
}

nlohmann::json SummaryToJson(const Summary& s) {
  return {{"count", s.count}, {"mean", s.mean}, {"p50", s.p50},
          {"p90", s.p90},     {"p99", s.p99},   {"max", s.max}};
}

}  // namespace

void PrintTable(std::FILE* out, const std::string& title, const RunMetrics& m, const Slo& slo) {
  std::fprintf(out, "== %s ==\n", title.c_str());
  std::fprintf(out, "  requests               %lld ok of %lld in %.2f s\n",
               static_cast<long long>(m.num_ok), static_cast<long long>(m.num_requests),
               m.duration_s);
  std::fprintf(out, "  request throughput     %.3f req/s\n", m.requests_per_s);
  std::fprintf(out, "  input tokens           %lld (%.1f tok/s)\n",
               static_cast<long long>(m.prompt_tokens), m.input_tokens_per_s);
  std::fprintf(out, "  output tokens          %lld (%.1f tok/s)\n",
               static_cast<long long>(m.completion_tokens), m.output_tokens_per_s);
  const double cached_share =
      m.prompt_tokens > 0 ? 100.0 * static_cast<double>(m.cached_tokens) / m.prompt_tokens : 0;
  std::fprintf(out, "  cached prompt tokens   %lld (%.1f%%; RAM %lld, SSD %lld)\n",
               static_cast<long long>(m.cached_tokens), cached_share,
               static_cast<long long>(m.cached_tokens_ram),
               static_cast<long long>(m.cached_tokens_ssd));
  if (slo.ttft_s || slo.tpot_s || slo.e2e_s) {
    std::fprintf(out, "  goodput                %.3f req/s (%lld of %lld meet the SLO)\n",
                 m.goodput_requests_per_s, static_cast<long long>(m.num_meeting_slo),
                 static_cast<long long>(m.num_requests));
  }
  std::fprintf(out, "  %-22s %10s %10s %10s %10s %10s\n", "latency (ms)", "mean", "p50", "p90",
               "p99", "max");
  PrintLatency(out, "TTFT", m.ttft_s);
  PrintLatency(out, "TPOT", m.tpot_s);
  PrintLatency(out, "ITL", m.itl_s);
  PrintLatency(out, "E2E", m.e2e_s);
}

nlohmann::json MetricsToJson(const RunMetrics& m) {
  return {{"num_requests", m.num_requests},
          {"num_ok", m.num_ok},
          {"num_meeting_slo", m.num_meeting_slo},
          {"duration_s", m.duration_s},
          {"prompt_tokens", m.prompt_tokens},
          {"completion_tokens", m.completion_tokens},
          {"cached_tokens", m.cached_tokens},
          {"cached_tokens_ram", m.cached_tokens_ram},
          {"cached_tokens_ssd", m.cached_tokens_ssd},
          {"requests_per_s", m.requests_per_s},
          {"input_tokens_per_s", m.input_tokens_per_s},
          {"output_tokens_per_s", m.output_tokens_per_s},
          {"goodput_requests_per_s", m.goodput_requests_per_s},
          {"ttft_s", SummaryToJson(m.ttft_s)},
          {"tpot_s", SummaryToJson(m.tpot_s)},
          {"itl_s", SummaryToJson(m.itl_s)},
          {"e2e_s", SummaryToJson(m.e2e_s)}};
}

nlohmann::json RequestsToJson(std::span<const RequestResult> results) {
  nlohmann::json list = nlohmann::json::array();
  for (const RequestResult& r : results) {
    nlohmann::json item = {{"ok", r.ok},
                           {"phase", r.phase},
                           {"start_s", r.start_s},
                           {"ttft_s", r.ttft_s},
                           {"e2e_s", r.e2e_s},
                           {"prompt_tokens", r.prompt_tokens},
                           {"completion_tokens", r.completion_tokens},
                           {"cached_tokens", r.cached_tokens},
                           {"cached_tokens_ram", r.cached_tokens_ram},
                           {"cached_tokens_ssd", r.cached_tokens_ssd}};
    if (!r.ok) item["error"] = r.error;
    list.push_back(std::move(item));
  }
  return list;
}

}  // namespace ts::loadgen
