// Prometheus text exposition (format 0.0.4) of the engine's metrics, the KV cache's figures
// and the HTTP server's own counters, for GET /metrics. Metric names carry a "tierserve_"
// prefix and their unit (_seconds, _tokens, _blocks, _bytes, _total for counters).
#pragma once

#include <cstdint>
#include <string>

#include "engine/engine_metrics.h"
#include "kv/kv_cache.h"

namespace ts::server {

// Counters the HTTP layer keeps (atomics read at exposition time).
struct HttpMetricsSnapshot {
  int64_t requests_total = 0;  // every request routed
  int64_t requests_4xx_total = 0;
  int64_t requests_5xx_total = 0;
  int64_t active_streams = 0;            // SSE responses in progress
  int64_t client_disconnects_total = 0;  // requests cancelled because the client left
};

std::string FormatPrometheus(const EngineMetricsSnapshot& engine, const KvCacheStats& cache,
                             const HttpMetricsSnapshot& http);

}  // namespace ts::server
