#include "server/metrics_text.h"

#include <cmath>
#include <sstream>
#include <string_view>

namespace ts::server {
namespace {

class Writer {
 public:
  void Scalar(std::string_view name, std::string_view type, std::string_view help, double value) {
    Header(name, type, help);
    out_ << "tierserve_" << name << ' ' << Number(value) << '\n';
  }

  void Hist(std::string_view name, std::string_view help, const Histogram::Snapshot& h) {
    Header(name, "histogram", help);
    for (size_t i = 0; i < h.upper_bounds.size() && i < h.cumulative_counts.size(); ++i) {
      out_ << "tierserve_" << name << "_bucket{le=\"" << Number(h.upper_bounds[i]) << "\"} "
           << h.cumulative_counts[i] << '\n';
    }
    out_ << "tierserve_" << name << "_bucket{le=\"+Inf\"} " << h.count << '\n';
    out_ << "tierserve_" << name << "_sum " << Number(h.sum) << '\n';
    out_ << "tierserve_" << name << "_count " << h.count << '\n';
  }

  std::string str() const { return out_.str(); }

 private:
  void Header(std::string_view name, std::string_view type, std::string_view help) {
    out_ << "# HELP tierserve_" << name << ' ' << help << '\n';
    out_ << "# TYPE tierserve_" << name << ' ' << type << '\n';
  }

  static std::string Number(double v) {
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (std::isnan(v)) return "NaN";
    std::ostringstream s;
    s.precision(17);
    s << v;
    return s.str();
  }

  std::ostringstream out_;
};

}  // namespace

std::string FormatPrometheus(const EngineMetricsSnapshot& e, const KvCacheStats& c,
                             const HttpMetricsSnapshot& h) {
  Writer w;
  w.Scalar("queue_depth", "gauge", "Requests waiting for admission.", e.queue_depth);
  w.Scalar("running_seqs", "gauge", "Sequences in the running batch.", e.running_seqs);
  w.Scalar("preemptions_total", "counter", "Sequences preempted for lack of blocks.",
           e.preemptions_total);
  w.Scalar("prompt_tokens_total", "counter", "Prompt tokens of admitted requests.",
           e.prompt_tokens_total);
  w.Scalar("generation_tokens_total", "counter", "Generated tokens.", e.generation_tokens_total);
  w.Scalar("prefix_hit_tokens_ram_total", "counter", "Prompt tokens served from the RAM cache.",
           e.prefix_hit_tokens_ram_total);
  w.Scalar("prefix_hit_tokens_ssd_total", "counter", "Prompt tokens served from the SSD cache.",
           e.prefix_hit_tokens_ssd_total);
  w.Scalar("requests_finished_total", "counter", "Requests the engine finished.",
           e.requests_finished_total);
  w.Scalar("requests_rejected_total", "counter", "Requests the engine refused at submit.",
           e.requests_rejected_total);
  w.Scalar("kv_blocks_used", "gauge", "KV blocks referenced by running sequences.",
           e.kv_blocks_used);
  w.Scalar("kv_blocks_total", "gauge", "KV blocks in the RAM pool.", e.kv_blocks_total);
  w.Hist("step_seconds", "Duration of one engine step.", e.step_seconds);
  w.Hist("step_forward_seconds", "The model's forward pass within a step.", e.forward_seconds);
  w.Hist("step_sampling_seconds", "Logit processing and sampling within a step.",
         e.sampling_seconds);
  w.Hist("time_to_first_token_seconds", "Time from submit to the first token.", e.ttft_seconds);
  w.Hist("inter_token_latency_seconds", "Time between tokens of one sequence.", e.itl_seconds);

  w.Scalar("cache_block_size_tokens", "gauge", "Tokens per KV block.", c.block_size);
  w.Scalar("cache_block_bytes", "gauge", "Bytes per KV block (all layers, K and V).",
           static_cast<double>(c.block_bytes));
  w.Scalar("cache_ram_cached_blocks", "gauge", "Evictable blocks holding reusable KV.",
           c.ram_cached_blocks);
  w.Scalar("cache_ram_free_blocks", "gauge", "Free RAM blocks.", c.ram_free_blocks);
  w.Scalar("cache_ram_hit_blocks_total", "counter", "Prompt blocks served from RAM.",
           c.ram_hit_blocks);
  w.Scalar("cache_ram_miss_blocks_total", "counter", "Prompt blocks not in RAM.",
           c.ram_miss_blocks);
  w.Scalar("cache_ram_evictions_total", "counter", "Cached blocks evicted from RAM.",
           c.ram_evictions);
  w.Scalar("cache_ssd_blocks", "gauge", "Block records on the SSD tier.", c.ssd.num_blocks);
  w.Scalar("cache_ssd_bytes", "gauge", "Bytes on the SSD tier.", c.ssd.num_bytes);
  w.Scalar("cache_ssd_hit_blocks_total", "counter", "Blocks loaded from the SSD tier.",
           c.ssd.hit_blocks);
  w.Scalar("cache_ssd_miss_blocks_total", "counter", "Blocks the SSD tier could not deliver.",
           c.ssd.miss_blocks);
  w.Scalar("cache_ssd_pending_writes", "gauge", "Blocks queued for the SSD tier.",
           c.ssd.pending_writes);
  w.Scalar("cache_ssd_written_blocks_total", "counter", "Blocks written to the SSD tier.",
           c.ssd.written_blocks);
  w.Scalar("cache_ssd_dropped_writes_total", "counter", "SSD writes dropped (queue full).",
           c.ssd.dropped_writes);

  w.Scalar("http_requests_total", "counter", "HTTP requests routed.", h.requests_total);
  w.Scalar("http_requests_4xx_total", "counter", "HTTP responses with a 4xx status.",
           h.requests_4xx_total);
  w.Scalar("http_requests_5xx_total", "counter", "HTTP responses with a 5xx status.",
           h.requests_5xx_total);
  w.Scalar("http_active_streams", "gauge", "Streaming responses in progress.", h.active_streams);
  w.Scalar("http_client_disconnects_total", "counter",
           "Requests cancelled because the client went away.", h.client_disconnects_total);
  return w.str();
}

}  // namespace ts::server
