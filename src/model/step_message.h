// StepMessage: a StepBatch and the shape of the KV pool it runs on, as bytes, for the leader
// of a tensor-parallel group to broadcast to its followers (issue 10); also the message that
// ends a follower's loop. Decoding checks every length against the bytes it has, so a short or
// garbled message is an error, never a read out of bounds.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "kernels/kv_dtype.h"
#include "model/step_batch.h"

namespace ts {

struct StepMessage {
  bool shutdown = false;
  // The KV pool the step runs on: each follower keeps a pool of this shape for its shard.
  int32_t num_blocks = 0;
  int32_t block_size = 0;
  KvDtype kv_dtype = KvDtype::kBf16;
  // The batch's arrays, owned.
  std::vector<int32_t> tokens, positions, query_start, context_len, block_table, logit_rows;
  std::vector<int64_t> slot;
  int32_t max_blocks_per_seq = 0;

  // A view of the arrays above (valid while this message lives and is not changed).
  StepBatch batch() const;
};

std::vector<uint8_t> EncodeStep(const StepBatch& batch, int32_t num_blocks, int32_t block_size,
                                KvDtype kv_dtype);
std::vector<uint8_t> EncodeShutdown();
Result<StepMessage> DecodeStepMessage(std::span<const uint8_t> bytes);

}  // namespace ts
