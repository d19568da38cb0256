// The tensor-core prefill path of PagedAttention (prefill_attention.cu): sequences with at
// least args.tiled_min_queries new tokens in the step.
#pragma once

#include "kernels/cuda/cuda_kernels.h"

namespace ts::cuda {

// Whether the tiled kernel takes part of this batch: tiled_min_queries > 0, some sequence has
// that many new tokens, head_dim 32, 64 or 128, and the GQA ratio divides 64 (the rows of its
// smaller blocks).
bool TiledPrefillApplies(const AttentionArgs& args);
// Writes out for the tokens of every sequence with at least tiled_min_queries new tokens;
// num_sms picks the block size.
void TiledPrefillAttention(const float* q, const AttentionArgs& args, int num_sms, bf16* out,
                           cudaStream_t stream);

}  // namespace ts::cuda
