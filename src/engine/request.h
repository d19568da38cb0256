// GenerationRequest: one generation as the engine sees it: prompt token ids (the server has
// already rendered the chat template and tokenized), sampling parameters and stop conditions.
// The server validates every field before submitting (engine.Submit re-checks what could
// break an invariant: ids in range, lengths within the model and the pool).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/sampler.h"
#include "engine/token_mask.h"

namespace ts {

struct GenerationRequest {
  std::vector<int32_t> prompt;  // token ids, non-empty
  SamplingParams sampling;
  int32_t max_tokens = 16;  // generated tokens at most (>= 1)
  int32_t min_tokens = 0;   // EOS and stop tokens are ignored before this many
  bool ignore_eos = false;  // for benchmarks: exact output lengths
  std::vector<std::string> stop;          // stop strings, matched on decoded text
  std::vector<int32_t> stop_token_ids;    // extra stop ids (besides EOS)
  bool skip_special_tokens = true;        // in the streamed text
  std::string cache_salt;                 // mixed into the block-hash root (tenant isolation)
  // Completions' echo + logprobs: log-probabilities of the prompt tokens (the first is null).
  bool prompt_logprobs = false;
  // Constrained decoding (response_format, forced tool calls): every sampled token keeps the
  // output a prefix of this grammar, and EOS comes only once it is complete. Null: free text.
  // The caller rejects min_tokens and ignore_eos with a grammar (they would fight over EOS).
  std::shared_ptr<const CompiledGrammar> grammar;
};

}  // namespace ts
