// Paged causal attention over the KV block pool (layout v1, model/kv_layout.h): for each layer
// K and V are [num_blocks][num_kv_heads][block_size][head_dim] in kv_dtype.
//
// Token t of sequence s (local index i among its n new tokens) sees the first
// context_len[s] - n + i + 1 cached tokens of s, which live in blocks block_table[s][*].
// Each (token, head) is computed on its own with a fixed order over keys, so results do not
// depend on what else is in the batch.
#pragma once

#include <cstdint>

#include "kernels/isa.h"
#include "kernels/kv_dtype.h"

namespace ts {

class ThreadPool;

struct PagedAttentionArgs {
  const void* k_pool = nullptr;
  const void* v_pool = nullptr;
  KvDtype kv_dtype = KvDtype::kBf16;
  int32_t block_size = 16;
  int32_t num_heads = 0;
  int32_t num_kv_heads = 0;
  int32_t head_dim = 0;
  float scale = 1.f;  // softmax scale, usually 1/sqrt(head_dim)
  int32_t num_seqs = 0;
  const int32_t* query_start = nullptr;  // [S + 1]
  const int32_t* context_len = nullptr;  // [S]
  const int32_t* block_table = nullptr;  // [S][max_blocks_per_seq]
  int32_t max_blocks_per_seq = 0;
};

// q: [T][num_heads][head_dim], out: [T][num_heads][head_dim], T = query_start[S].
void PagedAttention(const float* q, const PagedAttentionArgs& args, float* out, ThreadPool& pool);
void PagedAttentionWithIsa(Isa isa, const float* q, const PagedAttentionArgs& args, float* out,
                           ThreadPool& pool);

// Writes K and V rows of T tokens into the pool at slots (block * block_size + offset),
// converting to kv_dtype.   k, v: [T][num_kv_heads][head_dim]
void WriteKv(const float* k, const float* v, const int64_t* slots, int64_t num_tokens,
             const PagedAttentionArgs& args, void* k_pool, void* v_pool);

namespace reference {
// Scalar, double-accumulating twin of PagedAttention.
void PagedAttention(const float* q, const PagedAttentionArgs& args, float* out);
}  // namespace reference

}  // namespace ts
