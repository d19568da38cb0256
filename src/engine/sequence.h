// Sequence: one request's state inside the engine. Owned by the engine thread (the scheduler
// holds pointers); only the RequestStream is shared with an HTTP thread.
//
// States: waiting -> (admitted) running -> finished, with running -> waiting on preemption.
// While its SSD prefix load is in flight a running sequence is "loading" and not scheduled.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "engine/request.h"
#include "engine/request_stream.h"
#include "engine/sampler.h"
#include "engine/stop_checker.h"
#include "kv/kv_cache.h"
#include "text/incremental_detokenizer.h"

namespace ts {

struct Sequence {
  Sequence(uint64_t id, GenerationRequest req, std::shared_ptr<RequestStream> stream,
           uint64_t fallback_seed)
      : id(id),
        request(std::move(req)),
        stream(std::move(stream)),
        tokens(request.prompt),
        num_prompt_tokens(static_cast<int32_t>(request.prompt.size())),
        sampler(request.sampling, fallback_seed),
        stop(request.stop) {
    sampler.AddPromptTokens(request.prompt);
    if (request.grammar != nullptr) matcher.emplace(request.grammar);
  }

  int32_t num_tokens() const { return static_cast<int32_t>(tokens.size()); }
  int32_t num_generated() const { return num_tokens() - num_prompt_tokens; }
  // Tokens still to compute before the next sample.
  int32_t num_uncomputed() const { return num_tokens() - num_computed; }

  const uint64_t id;
  GenerationRequest request;
  std::shared_ptr<RequestStream> stream;
  std::vector<int32_t> tokens;  // prompt, then generated tokens
  const int32_t num_prompt_tokens;
  int32_t num_computed = 0;     // tokens whose KV is in the cache
  std::optional<KvSequence> kv;  // set while admitted
  int64_t admit_order = 0;       // larger: admitted later (preempted first)
  bool is_running = false;
  bool first_admission_done = false;
  SamplerState sampler;
  StopChecker stop;
  std::optional<text::IncrementalDetokenizer> detokenizer;
  std::optional<GrammarMatcher> matcher;  // set when the request has a grammar
  bool grammar_failed = false;            // no token could continue the grammar
  Usage usage;
  std::chrono::steady_clock::time_point arrival, first_scheduled, first_token_time,
      last_token_time;
  bool was_scheduled = false;
  bool has_first_token = false;
};

}  // namespace ts
