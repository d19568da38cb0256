#include "kernels/attention.h"

#include <algorithm>

#include "base/check.h"
#include "base/thread_pool.h"
#include "kernels/cpu/attention_tasks.h"
#include "kernels/cpu/simd_util.h"

namespace ts {
namespace cpu::avx2 {
void PagedAttentionImpl(const float* q, const PagedAttentionArgs& a, float* out, ThreadPool& pool);
}
namespace cpu::avx512 {
void PagedAttentionImpl(const float* q, const PagedAttentionArgs& a, float* out, ThreadPool& pool);
}

namespace cpu {

std::vector<AttentionTask> SplitAttention(const PagedAttentionArgs& a, int32_t query_tile,
                                          int threads, int32_t max_run) {
  int64_t tiles = 0;
  for (int32_t s = 0; s < a.num_seqs; ++s) {
    tiles += (a.query_start[s + 1] - a.query_start[s] + query_tile - 1) / query_tile;
  }
  const int64_t wanted = 4 * static_cast<int64_t>(threads);
  const int64_t runs_per_tile =
      std::clamp<int64_t>((wanted + tiles - 1) / std::max<int64_t>(1, tiles), 1, a.num_kv_heads);
  const int32_t run =
      std::min(max_run, static_cast<int32_t>((a.num_kv_heads + runs_per_tile - 1) / runs_per_tile));
  std::vector<AttentionTask> tasks;
  for (int32_t s = 0; s < a.num_seqs; ++s) {
    for (int32_t t = a.query_start[s]; t < a.query_start[s + 1]; t += query_tile) {
      for (int32_t h = 0; h < a.num_kv_heads; h += run) {
        tasks.push_back({s, t, std::min(a.query_start[s + 1], t + query_tile), h,
                         std::min(a.num_kv_heads, h + run)});
      }
    }
  }
  return tasks;
}

}  // namespace cpu

void PagedAttentionWithIsa(Isa isa, const float* q, const PagedAttentionArgs& a, float* out,
                           ThreadPool& pool) {
  CHECK_EQ(a.num_heads % a.num_kv_heads, 0);
  if (isa != Isa::kAvx2) {
    cpu::avx512::PagedAttentionImpl(q, a, out, pool);
  } else {
    cpu::avx2::PagedAttentionImpl(q, a, out, pool);
  }
}

void PagedAttention(const float* q, const PagedAttentionArgs& a, float* out, ThreadPool& pool) {
  PagedAttentionWithIsa(SelectedIsa(), q, a, out, pool);
}

void WriteKv(const float* k, const float* v, const int64_t* slots, int64_t num_tokens,
             const PagedAttentionArgs& a, void* k_pool, void* v_pool) {
  const int32_t D = a.head_dim;
  const size_t elem = KvDtypeBytes(a.kv_dtype);
  const size_t head_stride = static_cast<size_t>(a.block_size) * D * elem;
  const size_t block_stride = head_stride * a.num_kv_heads;
  for (int64_t t = 0; t < num_tokens; ++t) {
    const int64_t block = slots[t] / a.block_size;
    const int64_t offset = slots[t] % a.block_size;
    for (int32_t h = 0; h < a.num_kv_heads; ++h) {
      const size_t at = static_cast<size_t>(block) * block_stride + h * head_stride +
                        static_cast<size_t>(offset) * D * elem;
      const int64_t src = (t * a.num_kv_heads + h) * D;
      cpu::F32ToKv(k + src, a.kv_dtype, D, static_cast<uint8_t*>(k_pool) + at);
      cpu::F32ToKv(v + src, a.kv_dtype, D, static_cast<uint8_t*>(v_pool) + at);
    }
  }
}

}  // namespace ts
