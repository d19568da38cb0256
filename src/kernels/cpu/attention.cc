#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/check.h"
#include "base/thread_pool.h"
#include "kernels/cpu/simd_util.h"

namespace ts {
namespace {

// One task: token t, kv head kvh, and the group of query heads that share it (GQA). K and V
// rows are converted to f32 once per block and reused by every head of the group.
// Softmax is online across blocks: scores for a whole block first, then one rescale.
void AttendOneGroup(const float* q, const PagedAttentionArgs& a, int32_t seq, int32_t t,
                    int32_t kvh, int32_t num_visible, float* out, std::vector<float>& scratch) {
  const int32_t D = a.head_dim;
  const int32_t G = a.num_heads / a.num_kv_heads;
  const int32_t B = a.block_size;
  const size_t elem = KvDtypeBytes(a.kv_dtype);
  const size_t head_stride = static_cast<size_t>(B) * D * elem;  // one head of one block
  const size_t block_stride = head_stride * a.num_kv_heads;

  // scratch: k rows [B][D], v rows [B][D], scores [G][B], acc [G][D], m [G], l [G]
  scratch.resize(static_cast<size_t>(2 * B * D + G * B + G * D + 2 * G));
  float* kf = scratch.data();
  float* vf = kf + B * D;
  float* scores = vf + B * D;
  float* acc = scores + G * B;
  float* m = acc + G * D;
  float* l = m + G;
  std::fill(acc, acc + G * D, 0.f);
  std::fill(m, m + G, -std::numeric_limits<float>::infinity());
  std::fill(l, l + G, 0.f);

  const float* qg = q + (static_cast<int64_t>(t) * a.num_heads + kvh * G) * D;
  const int32_t* table = a.block_table + static_cast<int64_t>(seq) * a.max_blocks_per_seq;
  for (int32_t start = 0; start < num_visible; start += B) {
    const int32_t n = std::min(B, num_visible - start);
    const auto* base = static_cast<const uint8_t*>(a.k_pool) +
                       static_cast<size_t>(table[start / B]) * block_stride + kvh * head_stride;
    cpu::KvToF32(base, a.kv_dtype, static_cast<int64_t>(n) * D, kf);
    const auto* vbase = static_cast<const uint8_t*>(a.v_pool) +
                        static_cast<size_t>(table[start / B]) * block_stride + kvh * head_stride;
    cpu::KvToF32(vbase, a.kv_dtype, static_cast<int64_t>(n) * D, vf);
    for (int32_t g = 0; g < G; ++g) {
      float* s = scores + g * B;
      float block_max = -std::numeric_limits<float>::infinity();
      for (int32_t j = 0; j < n; ++j) {
        s[j] = cpu::Dot(qg + g * D, kf + j * D, D) * a.scale;
        block_max = std::max(block_max, s[j]);
      }
      const float m_new = std::max(m[g], block_max);
      const float correction = std::exp(m[g] - m_new);  // exp(-inf) = 0 on the first block
      float sum = 0.f;
      for (int32_t j = 0; j < n; ++j) {
        s[j] = std::exp(s[j] - m_new);
        sum += s[j];
      }
      l[g] = l[g] * correction + sum;
      m[g] = m_new;
      float* ag = acc + g * D;
      for (int32_t d = 0; d < D; ++d) ag[d] *= correction;
      for (int32_t j = 0; j < n; ++j) {
        const float p = s[j];
        const float* vj = vf + j * D;
        for (int32_t d = 0; d < D; ++d) ag[d] += p * vj[d];
      }
    }
  }
  for (int32_t g = 0; g < G; ++g) {
    float* o = out + (static_cast<int64_t>(t) * a.num_heads + kvh * G + g) * D;
    const float inv = 1.f / l[g];
    for (int32_t d = 0; d < D; ++d) o[d] = acc[g * D + d] * inv;
  }
}

}  // namespace

void PagedAttention(const float* q, const PagedAttentionArgs& a, float* out, ThreadPool& pool) {
  CHECK_EQ(a.num_heads % a.num_kv_heads, 0);
  const int32_t num_tokens = a.query_start[a.num_seqs];
  // Token -> sequence map, so tasks can be (token, kv head) pairs over the flat batch.
  std::vector<int32_t> seq_of(static_cast<size_t>(num_tokens));
  for (int32_t s = 0; s < a.num_seqs; ++s) {
    for (int32_t t = a.query_start[s]; t < a.query_start[s + 1]; ++t) seq_of[t] = s;
  }
  const int64_t num_tasks = static_cast<int64_t>(num_tokens) * a.num_kv_heads;
  pool.ParallelFor(num_tasks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch;
    for (int64_t task = begin; task < end; ++task) {
      const int32_t t = static_cast<int32_t>(task / a.num_kv_heads);
      const int32_t kvh = static_cast<int32_t>(task % a.num_kv_heads);
      const int32_t s = seq_of[t];
      const int32_t num_new = a.query_start[s + 1] - a.query_start[s];
      const int32_t visible = a.context_len[s] - num_new + (t - a.query_start[s]) + 1;
      CHECK_GE(visible, 1);
      AttendOneGroup(q, a, s, t, kvh, visible, out, scratch);
    }
  });
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
