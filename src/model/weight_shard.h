// Tensor-parallel shards of a model's weights (issue 10), Megatron-style: rank r of n holds
//   - q/k/v and gate/up: the output rows of its heads and its MLP columns, a contiguous range,
//     so these stay views into the mapped files;
//   - o_proj and down_proj: the matching range of input columns, copied (a column range is not
//     contiguous). Their partial outputs are summed across ranks, so a bias stays on rank 0;
//   - lm_head: a range of vocabulary rows (a view); rank 0 gathers the logits.
// The embedding stays whole on every rank: rows are only looked up, and of a mapped file only
// the pages read are ever in memory.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"
#include "model/model_config.h"
#include "model/model_weights.h"

namespace ts {

// What one rank's share of the model is.
struct ShardDims {
  int32_t num_heads = 0;
  int32_t num_kv_heads = 0;
  int32_t intermediate_size = 0;
  int32_t vocab_begin = 0, vocab_end = 0;  // lm_head rows [begin, end)
};

// The rows [begin, end) of a vocabulary of `vocab` split over `size` ranks: as even as can be.
void VocabRange(int32_t vocab, int rank, int size, int32_t* begin, int32_t* end);

// Rank `rank` of `size`'s dimensions; fails clearly when the heads, KV heads or MLP columns do
// not split evenly, or a quantized column split would cut a quantization group.
Result<ShardDims> ShardDimsFor(const ModelConfig& config, const ModelWeights& weights, int rank,
                               int size);

// Views of rows [begin, end) of w (quantized scales and biases included).
// REQUIRES: 0 <= begin <= end <= w.rows, w not repacked.
WeightMatrix RowSlice(const WeightMatrix& w, int64_t begin, int64_t end);
// A copy of columns [begin, end) of w into memory appended to *owned.
// REQUIRES: 0 <= begin <= end <= w.cols, both multiples of the group size when quantized.
WeightMatrix ColumnSlice(const WeightMatrix& w, int64_t begin, int64_t end,
                         std::vector<std::unique_ptr<uint8_t[]>>* owned);

// Replaces *weights by rank `rank`'s shard (dims from ShardDimsFor), keeping copied columns
// in *owned.
void ShardWeights(const ShardDims& dims, const ModelConfig& config, int rank, ModelWeights* weights,
                  std::vector<std::unique_ptr<uint8_t[]>>* owned);

}  // namespace ts
