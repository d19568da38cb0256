#include "engine/scheduler.h"

#include <algorithm>

#include "base/check.h"

namespace ts {

int32_t StepPlan::num_tokens() const {
  int32_t n = 0;
  for (const auto& c : chunks) n += c.count;
  return n;
}

Scheduler::Scheduler(const SchedulerOptions& options, KvCache* cache)
    : options_(options), cache_(cache) {}

void Scheduler::AddWaiting(Sequence* seq) { waiting_.push_back(seq); }

void Scheduler::Remove(Sequence* seq) {
  waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), seq), waiting_.end());
  running_.erase(std::remove(running_.begin(), running_.end(), seq), running_.end());
  if (seq->kv) {
    cache_->Free(std::move(*seq->kv));
    seq->kv.reset();
  }
  seq->is_running = false;
}

void Scheduler::Preempt(Sequence* victim, StepPlan* plan) {
  running_.erase(std::remove(running_.begin(), running_.end(), victim), running_.end());
  cache_->Free(std::move(*victim->kv));
  victim->kv.reset();
  victim->is_running = false;
  victim->num_computed = 0;
  waiting_.push_front(victim);
  plan->preempted.push_back(victim);
  // A victim already in this step's plan leaves it.
  plan->chunks.erase(std::remove_if(plan->chunks.begin(), plan->chunks.end(),
                                    [&](const ScheduledChunk& c) { return c.seq == victim; }),
                     plan->chunks.end());
}

bool Scheduler::GrowOrPreempt(Sequence* seq, int32_t num_tokens, StepPlan* plan) {
  while (!cache_->Grow(&*seq->kv, num_tokens).ok()) {
    Sequence* victim = nullptr;
    for (Sequence* s : running_) {
      if (victim == nullptr || s->admit_order > victim->admit_order) victim = s;
    }
    CHECK(victim != nullptr);
    Preempt(victim, plan);
    if (victim == seq) return false;
  }
  return true;
}

int32_t Scheduler::ChunkLimit(const Sequence* seq, int32_t budget) const {
  int32_t n = std::min(seq->num_uncomputed(), budget);
  if (seq->request.prompt_logprobs && seq->num_computed < seq->num_prompt_tokens) {
    n = std::min(n, options_.max_prompt_logprob_rows);
  }
  return n;
}

bool Scheduler::Admit(Sequence* seq) {
  std::span<const int32_t> tokens = seq->tokens;
  CacheKeys keys{seq->request.cache_salt, {}};
  // Prompt log-probabilities need every prompt row computed: no prefix reuse for those.
  const bool reuse = options_.prefix_caching && !seq->request.prompt_logprobs;
  PrefixHit hit = reuse ? cache_->Lookup(tokens, keys) : PrefixHit{};
  const int32_t bs = cache_->block_size();
  const int32_t first_chunk = std::min(seq->num_tokens(), hit.num_cached_tokens(bs) + 1);
  auto kv = cache_->Allocate(hit, tokens, first_chunk, keys);
  if (!kv.ok()) return false;
  seq->kv.emplace(std::move(*kv));
  seq->num_computed = seq->kv->num_cached_tokens();
  if (!seq->first_admission_done) {
    seq->first_admission_done = true;
    seq->usage.cached_tokens_ram = std::min(seq->num_computed, seq->num_prompt_tokens - 1);
    seq->usage.cached_tokens_ssd = hit.num_ssd_blocks * bs;
  }
  seq->is_running = true;
  seq->admit_order = next_admit_order_++;
  running_.push_back(seq);
  return true;
}

StepPlan Scheduler::Schedule() {
  StepPlan plan;
  for (uint64_t load_id : cache_->PollLoads()) {
    for (Sequence* s : running_) {
      if (s->kv && s->kv->load_id() == load_id) {
        cache_->FinishLoad(&*s->kv);
        s->num_computed = s->kv->num_cached_tokens();
      }
    }
  }
  int32_t budget = options_.max_num_batched_tokens;
  auto add = [&](Sequence* s, int32_t count) {
    ScheduledChunk c;
    c.seq = s;
    c.start = s->num_computed;
    c.count = count;
    c.sample = s->num_computed + count == s->num_tokens();
    c.all_logits = s->request.prompt_logprobs && s->num_computed < s->num_prompt_tokens;
    plan.chunks.push_back(c);
    budget -= count;
  };
  // 1. Decode tokens, then 2. prefill chunks of running sequences, in admission order.
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < running_.size() && budget > 0; ++i) {
      Sequence* s = running_[i];
      if (s->kv->is_loading()) continue;
      const bool is_decode = s->num_uncomputed() == 1;
      if (is_decode != (pass == 0)) continue;
      const int32_t n = ChunkLimit(s, budget);
      if (n <= 0) continue;
      // The victim is always the last admitted, so when it is s, s was last: the loop ends.
      if (!GrowOrPreempt(s, s->num_computed + n, &plan)) continue;
      add(s, n);
    }
  }
  // 3. Admit waiting sequences while the step has room.
  while (!waiting_.empty() && budget > 0 &&
         static_cast<int32_t>(running_.size()) < options_.max_num_seqs) {
    Sequence* s = waiting_.front();
    if (!Admit(s)) break;
    waiting_.pop_front();
    if (s->kv->is_loading()) continue;
    const int32_t n = ChunkLimit(s, budget);
    if (!GrowOrPreempt(s, s->num_computed + n, &plan)) break;
    add(s, n);
  }
  return plan;
}

void Scheduler::Commit(const StepPlan& plan, const std::vector<int32_t>& sampled) {
  size_t next = 0;
  for (const ScheduledChunk& c : plan.chunks) {
    Sequence* s = c.seq;
    s->num_computed = c.start + c.count;
    if (options_.prefix_caching) cache_->Commit(&*s->kv, s->tokens, s->num_computed);
    if (c.sample) {
      CHECK_LT(next, sampled.size());
      s->tokens.push_back(sampled[next++]);
    }
  }
}

}  // namespace ts
