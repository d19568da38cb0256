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

// Queries attended together: K and V blocks are converted to f32 once per tile of queries.
constexpr int32_t kQueryTile = 16;

// One task: query tokens [t_begin, t_end) of sequence seq, kv head kvh, and the group of query
// heads sharing it (GQA). Each key block is converted to f32 once and used by every query of
// the tile and every head of the group. For each query the work is the same whatever tile it
// is in: blocks in order, scores for a whole block, then one online-softmax rescale.
void AttendQueryTile(const float* q, const PagedAttentionArgs& a, int32_t seq, int32_t t_begin,
                     int32_t t_end, int32_t kvh, float* out, std::vector<float>& scratch) {
  const int32_t D = a.head_dim;
  const int32_t G = a.num_heads / a.num_kv_heads;
  const int32_t B = a.block_size;
  const int32_t Q = t_end - t_begin;
  const size_t elem = KvDtypeBytes(a.kv_dtype);
  const size_t head_stride = static_cast<size_t>(B) * D * elem;  // one head of one block
  const size_t block_stride = head_stride * a.num_kv_heads;
  const int32_t num_new = a.query_start[seq + 1] - a.query_start[seq];
  auto visible = [&](int32_t t) { return a.context_len[seq] - num_new + (t - a.query_start[seq]) + 1; };

  // scratch: k rows [B][D], v rows [B][D], scores [B], acc [Q][G][D], m [Q][G], l [Q][G]
  const size_t states = static_cast<size_t>(Q) * G;
  scratch.resize(static_cast<size_t>(2 * B * D + B) + states * (D + 2));
  float* kf = scratch.data();
  float* vf = kf + B * D;
  float* scores = vf + B * D;
  float* acc = scores + B;
  float* m = acc + states * D;
  float* l = m + states;
  std::fill(acc, acc + states * D, 0.f);
  std::fill(m, m + states, -std::numeric_limits<float>::infinity());
  std::fill(l, l + states, 0.f);

  const int32_t* table = a.block_table + static_cast<int64_t>(seq) * a.max_blocks_per_seq;
  const int32_t last_visible = visible(t_end - 1);
  for (int32_t start = 0; start < last_visible; start += B) {
    const int32_t block_n = std::min(B, last_visible - start);
    const size_t offset = static_cast<size_t>(table[start / B]) * block_stride + kvh * head_stride;
    cpu::KvToF32(static_cast<const uint8_t*>(a.k_pool) + offset, a.kv_dtype,
                 static_cast<int64_t>(block_n) * D, kf);
    cpu::KvToF32(static_cast<const uint8_t*>(a.v_pool) + offset, a.kv_dtype,
                 static_cast<int64_t>(block_n) * D, vf);
    for (int32_t qi = 0; qi < Q; ++qi) {
      const int32_t t = t_begin + qi;
      const int32_t n = std::min(block_n, visible(t) - start);
      if (n <= 0) continue;
      const float* qg = q + (static_cast<int64_t>(t) * a.num_heads + kvh * G) * D;
      for (int32_t g = 0; g < G; ++g) {
        const size_t state = static_cast<size_t>(qi) * G + g;
        float block_max = -std::numeric_limits<float>::infinity();
        for (int32_t j = 0; j < n; ++j) {
          scores[j] = cpu::Dot(qg + g * D, kf + j * D, D) * a.scale;
          block_max = std::max(block_max, scores[j]);
        }
        const float m_new = std::max(m[state], block_max);
        const float correction = std::exp(m[state] - m_new);  // exp(-inf) = 0 on the first block
        float sum = 0.f;
        for (int32_t j = 0; j < n; ++j) {
          scores[j] = std::exp(scores[j] - m_new);
          sum += scores[j];
        }
        l[state] = l[state] * correction + sum;
        m[state] = m_new;
        float* ag = acc + state * D;
        for (int32_t d = 0; d < D; ++d) ag[d] *= correction;
        for (int32_t j = 0; j < n; ++j) {
          const float p = scores[j];
          const float* vj = vf + j * D;
          for (int32_t d = 0; d < D; ++d) ag[d] += p * vj[d];
        }
      }
    }
  }
  for (int32_t qi = 0; qi < Q; ++qi) {
    for (int32_t g = 0; g < G; ++g) {
      const size_t state = static_cast<size_t>(qi) * G + g;
      float* o = out + (static_cast<int64_t>(t_begin + qi) * a.num_heads + kvh * G + g) * D;
      const float inv = 1.f / l[state];
      for (int32_t d = 0; d < D; ++d) o[d] = acc[state * D + d] * inv;
    }
  }
}

}  // namespace

void PagedAttention(const float* q, const PagedAttentionArgs& a, float* out, ThreadPool& pool) {
  CHECK_EQ(a.num_heads % a.num_kv_heads, 0);
  // Tasks: (sequence, query tile, kv head).
  struct Task {
    int32_t seq, t_begin, t_end;
  };
  std::vector<Task> tiles;
  for (int32_t s = 0; s < a.num_seqs; ++s) {
    for (int32_t t = a.query_start[s]; t < a.query_start[s + 1]; t += kQueryTile) {
      tiles.push_back({s, t, std::min(a.query_start[s + 1], t + kQueryTile)});
    }
  }
  const int64_t num_tasks = static_cast<int64_t>(tiles.size()) * a.num_kv_heads;
  pool.ParallelFor(num_tasks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch;
    for (int64_t task = begin; task < end; ++task) {
      const Task& tile = tiles[static_cast<size_t>(task / a.num_kv_heads)];
      const int32_t kvh = static_cast<int32_t>(task % a.num_kv_heads);
      AttendQueryTile(q, a, tile.seq, tile.t_begin, tile.t_end, kvh, out, scratch);
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
