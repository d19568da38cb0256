// StepBatch: what one forward pass computes (DESIGN.md, "Contracts"). The same for CPU and CUDA.
//
// S sequences, T new tokens in all. Sequence s owns token rows query_start[s]..query_start[s+1];
// those rows are a prefill chunk or a single decode token, mixed freely. Before the step the
// KV cache holds context_len[s] - (query_start[s+1] - query_start[s]) tokens of s; the step
// writes each new token's K and V to slot[t] = block_id * block_size + offset and then attends
// over all context_len[s] tokens, reading K/V from the blocks listed in block_table in place.
//
// Borrowed views only: the engine owns the arrays and keeps them alive for the call.
#pragma once

#include <cstdint>
#include <span>

namespace ts {

struct StepBatch {
  std::span<const int32_t> tokens;       // [T]
  std::span<const int32_t> positions;    // [T] position of each token in its sequence
  std::span<const int32_t> query_start;  // [S + 1]
  std::span<const int32_t> context_len;  // [S] tokens in the cache for s after this step
  std::span<const int32_t> block_table;  // [S * max_blocks_per_seq] block ids, row-major
  int32_t max_blocks_per_seq = 0;
  std::span<const int64_t> slot;  // [T] where token t's K/V go
  std::span<const int32_t> logit_rows;  // rows (into [0, T)) that need logits, in output order

  int32_t num_seqs() const { return static_cast<int32_t>(context_len.size()); }
  int32_t num_tokens() const { return static_cast<int32_t>(tokens.size()); }
};

}  // namespace ts
