// Presenting a run: a table for people (stdout) and JSON for machines (--json FILE).
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "app/bench/stats.h"

namespace ts::loadgen {

// Milliseconds for latencies, as the field quotes them.
void PrintTable(std::FILE* out, const std::string& title, const RunMetrics& m, const Slo& slo);

nlohmann::json MetricsToJson(const RunMetrics& m);

// Per-request records (timings in seconds, ITLs left out), for plots and audits.
nlohmann::json RequestsToJson(std::span<const RequestResult> results);

}  // namespace ts::loadgen
