// Sampler: turns one row of logits into a token, per request parameters.
//
// Order, as vLLM applies it: logit_bias, repetition penalty (prompt and output tokens),
// presence and frequency penalties (output tokens), then temperature (0: greedy argmax, ties to
// the lowest id), top_k, top_p, min_p, and a draw from the request's own random stream. The
// stream is seeded from the request's seed, so the same seed, prompt and parameters give the
// same output whatever else the server is doing. Log-probabilities are of the raw model
// distribution (before any of the above), as vLLM reports them by default.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"

namespace ts {

struct SamplingParams {
  float temperature = 1.f;  // 0: greedy
  float top_p = 1.f;        // (0, 1]
  int32_t top_k = 0;        // 0 or -1: off
  float min_p = 0.f;        // [0, 1]
  float repetition_penalty = 1.f;  // > 0; 1: off
  float presence_penalty = 0.f;    // [-2, 2]
  float frequency_penalty = 0.f;   // [-2, 2]
  std::optional<uint64_t> seed;
  int32_t num_top_logprobs = -1;  // -1: no logprobs; 0: only the chosen token's; n: also top n
  std::vector<std::pair<int32_t, float>> logit_bias;

  Status Validate(int32_t vocab_size) const;
};

struct SampledToken {
  int32_t token = 0;
  float logprob = 0.f;  // when requested
  std::vector<std::pair<int32_t, float>> top_logprobs;  // best first
};

// Per-sequence sampling state: the random stream and the token counts penalties need.
class SamplerState {
 public:
  // `fallback_seed` seeds the stream when params.seed is unset.
  SamplerState(const SamplingParams& params, uint64_t fallback_seed);

  void AddPromptTokens(const std::vector<int32_t>& tokens);
  void AddOutputToken(int32_t token);

  // Samples from logits[vocab_size]; may modify logits in place.
  SampledToken Sample(float* logits, int32_t vocab_size);

  const SamplingParams& params() const { return params_; }

 private:
  double NextUniform();  // [0, 1)
  void ApplyPenalties(float* logits) const;

  SamplingParams params_;
  uint64_t rng_state_;
  std::unordered_map<int32_t, int32_t> output_counts_;
  std::vector<int32_t> prompt_tokens_;  // sorted, unique (repetition penalty)
};

// log-softmax helpers shared with logprob reporting.
// Returns log(sum(exp(logits))) computed stably.
double LogSumExp(const float* logits, int32_t n);

}  // namespace ts
