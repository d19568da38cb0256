// AVX2+FMA+F16C paged attention, for CPUs without AVX-512: each key block is converted to f32
// once per tile of queries and kv head, then scored and accumulated in f32.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/check.h"
#include "base/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/cpu/attention_tasks.h"
#include "kernels/cpu/simd_util.h"

namespace ts::cpu::avx2 {
namespace {

// out[r] = cpu::Dot(q, k + r * D, D) for R keys, with exactly Dot's lanes and reduction: four
// independent FMA chains overlap, where one key at a time waits on each FMA's latency.
template <int R>
void Dots(const float* __restrict q, const float* __restrict k, int32_t D, float* out) {
  float lanes[R][cpu::kLanes] = {};
  int32_t i = 0;
  for (; i + cpu::kLanes <= D; i += cpu::kLanes) {
    for (int r = 0; r < R; ++r) {
      for (int l = 0; l < cpu::kLanes; ++l) lanes[r][l] += q[i + l] * k[r * D + i + l];
    }
  }
  for (int r = 0; r < R; ++r) {
    float tail = 0.f;
    for (int32_t j = i; j < D; ++j) tail += q[j] * k[r * D + j];
    out[r] = cpu::ReduceLanes(lanes[r]) + tail;
  }
}

void ScoreKeys(const float* q, const float* k, int32_t n, int32_t D, float* out) {
  int32_t j = 0;
  for (; j + 4 <= n; j += 4) Dots<4>(q, k + j * D, D, out + j);
  for (; j < n; ++j) Dots<1>(q, k + j * D, D, out + j);
}

// In registers, cpu::kLanes values of d at a time.
void AccumulateValues(float* __restrict acc, float correction, const float* __restrict p, int32_t n,
                      const float* __restrict v, int32_t D) {
  int32_t d0 = 0;
  for (; d0 + cpu::kLanes <= D; d0 += cpu::kLanes) {
    float t[cpu::kLanes];
    for (int i = 0; i < cpu::kLanes; ++i) t[i] = acc[d0 + i] * correction;
    for (int32_t j = 0; j < n; ++j) {
      const float pj = p[j];
      const float* vj = v + j * D + d0;
      for (int i = 0; i < cpu::kLanes; ++i) t[i] += pj * vj[i];
    }
    for (int i = 0; i < cpu::kLanes; ++i) acc[d0 + i] = t[i];
  }
  for (int32_t d = d0; d < D; ++d) {
    float t = acc[d] * correction;
    for (int32_t j = 0; j < n; ++j) t += p[j] * v[j * D + d];
    acc[d] = t;
  }
}

float ScaleMax(float* s, int32_t n, float scale) {
  float max = -std::numeric_limits<float>::infinity();
  for (int32_t j = 0; j < n; ++j) {
    s[j] *= scale;
    max = std::max(max, s[j]);
  }
  return max;
}

float Exp(float x) { return std::exp(x); }

float ExpSum(float* s, int32_t n, float shift) {
  cpu::ExpShifted(s, n, shift);
  float sum = 0.f;
  for (int32_t j = 0; j < n; ++j) sum += s[j];
  return sum;
}

// Queries attended together: K and V blocks are converted to f32 once per tile of queries.
constexpr int32_t kQueryTile = 16;

// One task: query tokens [t_begin, t_end) of sequence seq, kv head kvh, and the group of query
// heads sharing it (GQA). Each key block is converted to f32 once and used by
// every query of the tile and every head of the group. For each query the work is the same
// whatever tile it is in: blocks in order, scores for a whole block, then one online-softmax
// rescale.
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
  auto visible = [&](int32_t t) {
    return a.context_len[seq] - num_new + (t - a.query_start[seq]) + 1;
  };

  // scratch: k rows [B][D], v rows [B][D], scores [G][B], acc [Q][G][D], m [Q][G], l [Q][G]
  const size_t states = static_cast<size_t>(Q) * G;
  scratch.resize(static_cast<size_t>(2 * B * D + G * B) + states * (D + 2));
  float* kf = scratch.data();
  float* vf = kf + B * D;
  float* scores = vf + B * D;
  float* acc = scores + G * B;
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
    if (start + B < last_visible) {
      // The next block lies elsewhere in the pool, where the hardware prefetcher cannot guess;
      // decoding is bound by these reads.
      const size_t next =
          static_cast<size_t>(table[start / B + 1]) * block_stride + kvh * head_stride;
      for (size_t line = 0; line < head_stride; line += 64) {
        __builtin_prefetch(static_cast<const uint8_t*>(a.k_pool) + next + line);
        __builtin_prefetch(static_cast<const uint8_t*>(a.v_pool) + next + line);
      }
    }
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
        ScoreKeys(qg + g * D, kf, n, D, scores + g * B);
      }
      for (int32_t g = 0; g < G; ++g) {
        const size_t state = static_cast<size_t>(qi) * G + g;
        float* sg = scores + g * B;
        const float m_new = std::max(m[state], ScaleMax(sg, n, a.scale));
        const float correction = Exp(m[state] - m_new);  // ~0 on the first block (m = -inf)
        l[state] = l[state] * correction + ExpSum(sg, n, m_new);
        m[state] = m_new;
        AccumulateValues(acc + state * D, correction, sg, n, vf, D);
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

void PagedAttentionImpl(const float* q, const PagedAttentionArgs& a, float* out, ThreadPool& pool) {
  CHECK_EQ(a.num_heads % a.num_kv_heads, 0);
  const std::vector<AttentionTask> tasks = SplitAttention(a, kQueryTile, pool.num_threads(), 1);
  pool.ParallelFor(static_cast<int64_t>(tasks.size()), 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch;
    for (int64_t i = begin; i < end; ++i) {
      const AttentionTask& task = tasks[static_cast<size_t>(i)];
      AttendQueryTile(q, a, task.seq, task.t_begin, task.t_end, task.kvh_begin, out, scratch);
    }
  });
}

}  // namespace ts::cpu::avx2
