#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace ts {
namespace {

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

int32_t ArgMax(const float* logits, int32_t n) {
  int32_t best = 0;
  for (int32_t i = 1; i < n; ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return best;
}

// The n highest (logit, id) pairs, best first (ties: lower id first).
std::vector<std::pair<float, int32_t>> TopN(const float* logits, int32_t vocab, int32_t n) {
  std::vector<std::pair<float, int32_t>> all;
  all.reserve(static_cast<size_t>(vocab));
  for (int32_t i = 0; i < vocab; ++i) all.emplace_back(logits[i], i);
  auto better = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  n = std::min(n, vocab);
  std::partial_sort(all.begin(), all.begin() + n, all.end(), better);
  all.resize(static_cast<size_t>(n));
  return all;
}

}  // namespace

Status SamplingParams::Validate(int32_t vocab_size) const {
  if (!(temperature >= 0.f) || !std::isfinite(temperature) || temperature > 100.f) {
    return InvalidArgument("temperature must be in [0, 100]");
  }
  if (!(top_p > 0.f && top_p <= 1.f)) return InvalidArgument("top_p must be in (0, 1]");
  if (top_k < -1) return InvalidArgument("top_k must be -1, 0 or positive");
  if (!(min_p >= 0.f && min_p <= 1.f)) return InvalidArgument("min_p must be in [0, 1]");
  if (!(repetition_penalty > 0.f) || !std::isfinite(repetition_penalty)) {
    return InvalidArgument("repetition_penalty must be positive");
  }
  if (!(presence_penalty >= -2.f && presence_penalty <= 2.f)) {
    return InvalidArgument("presence_penalty must be in [-2, 2]");
  }
  if (!(frequency_penalty >= -2.f && frequency_penalty <= 2.f)) {
    return InvalidArgument("frequency_penalty must be in [-2, 2]");
  }
  if (num_top_logprobs > 20) return InvalidArgument("top_logprobs must be at most 20");
  for (const auto& [id, bias] : logit_bias) {
    if (id < 0 || id >= vocab_size) {
      return InvalidArgument("logit_bias token id " + std::to_string(id) + " is out of range");
    }
    if (!(bias >= -100.f && bias <= 100.f)) return InvalidArgument("logit_bias must be in [-100, 100]");
  }
  return Status::Ok();
}

double LogSumExp(const float* logits, int32_t n) {
  float max = -std::numeric_limits<float>::infinity();
  for (int32_t i = 0; i < n; ++i) max = std::max(max, logits[i]);
  double sum = 0;
  for (int32_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  return max + std::log(sum);
}

SamplerState::SamplerState(const SamplingParams& params, uint64_t fallback_seed)
    : params_(params), rng_state_(params.seed.value_or(fallback_seed)) {}

void SamplerState::AddPromptTokens(const std::vector<int32_t>& tokens) {
  prompt_tokens_.insert(prompt_tokens_.end(), tokens.begin(), tokens.end());
  std::sort(prompt_tokens_.begin(), prompt_tokens_.end());
  prompt_tokens_.erase(std::unique(prompt_tokens_.begin(), prompt_tokens_.end()),
                       prompt_tokens_.end());
}

void SamplerState::AddOutputToken(int32_t token) { ++output_counts_[token]; }

double SamplerState::NextUniform() {
  return static_cast<double>(SplitMix64(rng_state_) >> 11) * (1.0 / 9007199254740992.0);
}

void SamplerState::ApplyPenalties(float* logits) const {
  const float rep = params_.repetition_penalty;
  auto penalize = [&](int32_t id) {
    logits[id] = logits[id] > 0 ? logits[id] / rep : logits[id] * rep;
  };
  if (rep != 1.f) {
    for (int32_t id : prompt_tokens_) penalize(id);
    for (const auto& [id, count] : output_counts_) {
      if (!std::binary_search(prompt_tokens_.begin(), prompt_tokens_.end(), id)) penalize(id);
    }
  }
  for (const auto& [id, count] : output_counts_) {
    logits[id] -= params_.presence_penalty + params_.frequency_penalty * static_cast<float>(count);
  }
}

SampledToken SamplerState::Sample(float* logits, int32_t vocab) {
  SampledToken out;
  double raw_lse = 0;
  if (params_.num_top_logprobs >= 0) {
    raw_lse = LogSumExp(logits, vocab);
    if (params_.num_top_logprobs > 0) {
      for (const auto& [logit, id] : TopN(logits, vocab, params_.num_top_logprobs)) {
        out.top_logprobs.emplace_back(id, static_cast<float>(logit - raw_lse));
      }
    }
  }
  // Raw logit of each token, for the chosen token's logprob after processing changes logits.
  auto raw_logprob = [&, copy = params_.num_top_logprobs >= 0
                                    ? std::vector<float>(logits, logits + vocab)
                                    : std::vector<float>()](int32_t id) {
    return static_cast<float>(copy[static_cast<size_t>(id)] - raw_lse);
  };

  for (const auto& [id, bias] : params_.logit_bias) logits[id] += bias;
  ApplyPenalties(logits);

  if (params_.temperature < 1e-5f) {
    out.token = ArgMax(logits, vocab);
  } else {
    const float inv_t = 1.f / params_.temperature;
    for (int32_t i = 0; i < vocab; ++i) logits[i] *= inv_t;
    // Candidates best first: all of them only when a filter needs the order.
    const bool need_order = params_.top_k > 0 || params_.top_p < 1.f;
    std::vector<std::pair<float, int32_t>> cand;
    if (need_order) {
      const int32_t k = params_.top_k > 0 ? std::min(params_.top_k, vocab) : vocab;
      cand = TopN(logits, vocab, k);
    } else {
      cand.reserve(static_cast<size_t>(vocab));
      for (int32_t i = 0; i < vocab; ++i) cand.emplace_back(logits[i], i);
    }
    float max_logit = -std::numeric_limits<float>::infinity();
    for (const auto& c : cand) max_logit = std::max(max_logit, c.first);
    std::vector<double> probs(cand.size());
    double sum = 0;
    for (size_t i = 0; i < cand.size(); ++i) {
      probs[i] = std::exp(static_cast<double>(cand[i].first) - max_logit);
      sum += probs[i];
    }
    size_t keep = cand.size();
    if (params_.top_p < 1.f) {  // smallest prefix (best first) whose mass reaches top_p
      double acc = 0;
      for (size_t i = 0; i < cand.size(); ++i) {
        acc += probs[i] / sum;
        if (acc >= params_.top_p) {
          keep = i + 1;
          break;
        }
      }
    }
    if (params_.min_p > 0.f) {  // drop tokens below min_p x the best token's probability
      const double threshold = params_.min_p;  // probs are relative to the max (exp(0) = 1)
      for (size_t i = 0; i < keep; ++i) {
        if (probs[i] < threshold) probs[i] = 0;
      }
    }
    double total = 0;
    for (size_t i = 0; i < keep; ++i) total += probs[i];
    double u = NextUniform() * total;
    // Rounding can leave u just above the last step: then the last kept candidate wins.
    for (size_t i = 0; i < keep; ++i) {
      if (probs[i] == 0) continue;
      out.token = cand[i].second;
      if (u < probs[i]) break;
      u -= probs[i];
    }
  }
  if (params_.num_top_logprobs >= 0) out.logprob = raw_logprob(out.token);
  return out;
}

}  // namespace ts
