// Sends a workload to a server and records every request: `concurrency` clients, each running
// sessions one after another (a session's turns in order), sessions starting no earlier than their
// Poisson arrival time when a request rate is set. A progress line goes to stderr when it is a
// terminal.
#pragma once

#include <string>
#include <vector>

#include "app/bench/stats.h"
#include "app/bench/workload.h"

namespace ts::loadgen {

struct RunOptions {
  std::string url;  // "http://host:port"
  std::string api_key;
  std::string model;
  bool chat = false;          // /v1/chat/completions (text prompts) instead of /v1/completions
  bool text = false;          // prompts as text (always for chat)
  int32_t concurrency = 8;    // clients in flight at most
  double request_rate = 0;    // sessions per second, Poisson; 0 = start as clients free up
  double max_duration_s = 0;  // no session starts after this; 0 = no bound
  bool ignore_eos = true;
  bool min_tokens = false;  // also send min_tokens = max_tokens (vLLM, tierserve)
  double timeout_s = 600;
  uint64_t seed = 0;  // arrival times
  bool show_progress = false;
};

struct PhaseOutcome {
  std::vector<RequestResult> results;
  double duration_s = 0;
};

// The JSON body of one streaming request.
std::string RequestBody(const RunOptions& options, const BenchRequest& request);

// Runs one phase to completion (every started session finishes).
PhaseOutcome RunPhase(const RunOptions& options, const std::vector<Session>& sessions);

}  // namespace ts::loadgen
