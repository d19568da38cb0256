#include "engine/step_builder.h"

#include "base/check.h"

namespace ts {

void StepBuilder::Reset(int32_t block_size, int32_t max_blocks_per_seq) {
  block_size_ = block_size;
  max_blocks_per_seq_ = max_blocks_per_seq;
  tokens_.clear();
  positions_.clear();
  query_start_.assign(1, 0);
  context_len_.clear();
  block_table_.clear();
  slot_.clear();
  logit_rows_.clear();
}

void StepBuilder::AddSequence(std::span<const int32_t> new_tokens, int32_t num_cached,
                              std::span<const int32_t> block_ids, bool want_logits) {
  const int32_t n = static_cast<int32_t>(new_tokens.size());
  const int32_t context = num_cached + n;
  CHECK_GE(static_cast<int64_t>(block_ids.size()) * block_size_, context);
  CHECK_LE(static_cast<int32_t>(block_ids.size()), max_blocks_per_seq_);
  for (int32_t i = 0; i < n; ++i) {
    const int32_t pos = num_cached + i;
    tokens_.push_back(new_tokens[static_cast<size_t>(i)]);
    positions_.push_back(pos);
    slot_.push_back(static_cast<int64_t>(block_ids[static_cast<size_t>(pos / block_size_)]) *
                        block_size_ + pos % block_size_);
  }
  if (want_logits && n > 0) logit_rows_.push_back(static_cast<int32_t>(tokens_.size()) - 1);
  query_start_.push_back(static_cast<int32_t>(tokens_.size()));
  context_len_.push_back(context);
  block_table_.insert(block_table_.end(), block_ids.begin(), block_ids.end());
  block_table_.resize(static_cast<size_t>(num_seqs()) * max_blocks_per_seq_, 0);
}

StepBatch StepBuilder::batch() const {
  StepBatch b;
  b.tokens = tokens_;
  b.positions = positions_;
  b.query_start = query_start_;
  b.context_len = context_len_;
  b.block_table = block_table_;
  b.max_blocks_per_seq = max_blocks_per_seq_;
  b.slot = slot_;
  b.logit_rows = logit_rows_;
  return b;
}

}  // namespace ts
