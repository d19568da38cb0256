#include <cmath>
#include <vector>

#include "base/half.h"
#include "kernels/attention.h"

namespace ts::reference {
namespace {

double KvAt(const void* pool, const PagedAttentionArgs& a, int32_t block, int32_t head,
            int32_t offset, int32_t d) {
  const size_t index =
      ((static_cast<size_t>(block) * a.num_kv_heads + head) * a.block_size + offset) * a.head_dim + d;
  switch (a.kv_dtype) {
    case KvDtype::kF32: return static_cast<const float*>(pool)[index];
    case KvDtype::kF16: return F16ToF32(static_cast<const uint16_t*>(pool)[index]);
    case KvDtype::kBf16: return Bf16ToF32(static_cast<const uint16_t*>(pool)[index]);
  }
  return 0;
}

}  // namespace

void PagedAttention(const float* q, const PagedAttentionArgs& a, float* out) {
  const int32_t D = a.head_dim;
  const int32_t group = a.num_heads / a.num_kv_heads;
  for (int32_t s = 0; s < a.num_seqs; ++s) {
    const int32_t num_new = a.query_start[s + 1] - a.query_start[s];
    const int32_t* table = a.block_table + static_cast<int64_t>(s) * a.max_blocks_per_seq;
    for (int32_t t = a.query_start[s]; t < a.query_start[s + 1]; ++t) {
      const int32_t visible = a.context_len[s] - num_new + (t - a.query_start[s]) + 1;
      for (int32_t h = 0; h < a.num_heads; ++h) {
        const int32_t kvh = h / group;
        const float* qh = q + (static_cast<int64_t>(t) * a.num_heads + h) * D;
        std::vector<double> scores(static_cast<size_t>(visible));
        double max_score = -1e300;
        for (int32_t j = 0; j < visible; ++j) {
          double dot = 0;
          for (int32_t d = 0; d < D; ++d) {
            dot += qh[d] * KvAt(a.k_pool, a, table[j / a.block_size], kvh, j % a.block_size, d);
          }
          scores[j] = dot * a.scale;
          max_score = std::max(max_score, scores[j]);
        }
        double sum = 0;
        for (double& sc : scores) {
          sc = std::exp(sc - max_score);
          sum += sc;
        }
        float* o = out + (static_cast<int64_t>(t) * a.num_heads + h) * D;
        for (int32_t d = 0; d < D; ++d) {
          double acc = 0;
          for (int32_t j = 0; j < visible; ++j) {
            acc += scores[j] * KvAt(a.v_pool, a, table[j / a.block_size], kvh, j % a.block_size, d);
          }
          o[d] = static_cast<float>(acc / sum);
        }
      }
    }
  }
}

}  // namespace ts::reference
