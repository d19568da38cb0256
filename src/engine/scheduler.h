// Scheduler: which sequences compute how many tokens in the next forward pass. A state
// machine with no I/O and no threads: Schedule() returns a plan, Commit() applies the step's
// results. It owns the waiting queue (FCFS) and the running set, and the sequences' blocks
// through the KvCache (engine thread only).
//
// A step's plan, within max_num_batched_tokens and max_num_seqs:
//   1. one decode token for every running sequence that has one (decode is never starved);
//   2. the next prefill chunk of running sequences still in their prompt;
//   3. newly admitted waiting sequences (prefix lookup RAM -> SSD first), FCFS.
// Running out of blocks preempts the most recently admitted running sequence: its blocks are
// freed (full ones stay cached), it goes back to the head of the queue with its generated
// tokens kept, and is recomputed when admitted again.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "engine/sequence.h"
#include "kv/kv_cache.h"

namespace ts {

struct SchedulerOptions {
  int32_t max_num_seqs = 64;
  int32_t max_num_batched_tokens = 512;
  // Sequences that want prompt log-probabilities compute at most this many tokens per step
  // (every row of theirs needs a full row of logits).
  int32_t max_prompt_logprob_rows = 32;
  // Cache computed blocks and reuse cached prefixes at admission (off: every prompt is computed
  // in full; no block is hashed, shared or written to the SSD tier).
  bool prefix_caching = true;
};

struct ScheduledChunk {
  Sequence* seq = nullptr;
  int32_t start = 0;        // first token position computed
  int32_t count = 0;        // tokens computed
  bool sample = false;      // the chunk reaches the end of the sequence: sample its next token
  bool all_logits = false;  // logits for every row (prompt log-probabilities)
};

struct StepPlan {
  std::vector<ScheduledChunk> chunks;
  std::vector<Sequence*> preempted;  // this step (for metrics and tests)
  int32_t num_tokens() const;
};

class Scheduler {
 public:
  Scheduler(const SchedulerOptions& options, KvCache* cache);

  void AddWaiting(Sequence* seq);
  // Removes a sequence wherever it is and frees its blocks (finished or cancelled).
  void Remove(Sequence* seq);

  StepPlan Schedule();
  // After the forward pass: the planned tokens are computed (their full blocks are committed
  // to the prefix cache) and each sampling chunk's new token is appended. sampled[i] belongs
  // to the i-th chunk with sample == true.
  void Commit(const StepPlan& plan, const std::vector<int32_t>& sampled);

  size_t num_waiting() const { return waiting_.size(); }
  size_t num_running() const { return running_.size(); }
  const std::deque<Sequence*>& waiting() const { return waiting_; }
  const std::vector<Sequence*>& running() const { return running_; }

 private:
  // Makes room for seq to hold num_tokens; preempts later-admitted sequences as needed.
  // False when seq itself had to be preempted.
  bool GrowOrPreempt(Sequence* seq, int32_t num_tokens, StepPlan* plan);
  void Preempt(Sequence* victim, StepPlan* plan);
  // Admits the head of the queue; false when it cannot be admitted now.
  bool Admit(Sequence* seq);
  int32_t ChunkLimit(const Sequence* seq, int32_t budget) const;

  SchedulerOptions options_;
  KvCache* cache_;
  std::deque<Sequence*> waiting_;
  std::vector<Sequence*> running_;  // admission order
  int64_t next_admit_order_ = 0;
};

}  // namespace ts
