// StepBuilder: owns the arrays behind one StepBatch and fills them sequence by sequence.
// Used by the scheduler's step assembly and by offline runs (generate, bench-engine).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/step_batch.h"

namespace ts {

class StepBuilder {
 public:
  // Starts an empty step. max_blocks_per_seq: the width of the block table.
  void Reset(int32_t block_size, int32_t max_blocks_per_seq);

  // Appends a sequence that has num_cached tokens in the cache and computes new_tokens now.
  // block_ids must cover num_cached + new_tokens.size() tokens. With want_logits the last new
  // token's row gets logits (in the order sequences are added).
  void AddSequence(std::span<const int32_t> new_tokens, int32_t num_cached,
                   std::span<const int32_t> block_ids, bool want_logits);

  StepBatch batch() const;
  int32_t num_seqs() const { return static_cast<int32_t>(context_len_.size()); }
  int32_t num_logit_rows() const { return static_cast<int32_t>(logit_rows_.size()); }

 private:
  int32_t block_size_ = 16;
  int32_t max_blocks_per_seq_ = 0;
  std::vector<int32_t> tokens_, positions_, query_start_{0}, context_len_, block_table_;
  std::vector<int64_t> slot_;
  std::vector<int32_t> logit_rows_;
};

}  // namespace ts
