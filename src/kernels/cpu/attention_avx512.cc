// AVX-512 paged attention. Decoding is bound by reading K and V, so each block is read straight
// from the pool in its stored dtype, once per query for all the heads that share it (GQA), and
// converted to f32 in registers: no f32 copy of the block is stored and read back.
//
// Rows are taken 32 elements at a time and split into the even and the odd elements (for bf16
// a shift and a mask of each 32-bit lane; no shuffle across lanes). Queries and the value
// accumulators use the same split layout, so every product pairs the right elements; the
// output is interleaved back at the end. Each score and each output element is reduced in a
// fixed order that depends only on its own query, head and keys: batch-invariant.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/check.h"
#include "base/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/cpu/attention_tasks.h"

namespace ts::cpu::avx512 {
namespace {

// Queries attended together, so a block's K and V are read from memory once for all of them.
constexpr int32_t kQueryTile = 16;
// Elements of a row in one chunk: an even and an odd vector of 16.
constexpr int32_t kChunk = 32;

__mmask16 FirstLanes(int32_t n) { return static_cast<__mmask16>(n >= 16 ? 0xffff : (1u << n) - 1); }
__mmask32 FirstElements(int32_t n) { return n >= 32 ? ~__mmask32{0} : (__mmask32{1} << n) - 1; }

// Elements [32c, 32c + 32) of a row (those past `valid` read as 0) as f32, even and odd ones.
template <KvDtype kDtype>
void LoadChunk(const uint8_t* row, int32_t c, int32_t valid, __m512* even, __m512* odd) {
  const __mmask32 mask = FirstElements(valid - c * kChunk);
  if constexpr (kDtype == KvDtype::kF32) {
    const float* p = reinterpret_cast<const float*>(row) + c * kChunk;
    const __m512 lo = _mm512_maskz_loadu_ps(static_cast<__mmask16>(mask), p);
    const __m512 hi = _mm512_maskz_loadu_ps(static_cast<__mmask16>(mask >> 16), p + 16);
    const __m512i even_idx =
        _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    *even = _mm512_permutex2var_ps(lo, even_idx, hi);
    *odd = _mm512_permutex2var_ps(lo, _mm512_add_epi32(even_idx, _mm512_set1_epi32(1)), hi);
  } else {
    const __m512i raw =
        _mm512_maskz_loadu_epi16(mask, reinterpret_cast<const uint16_t*>(row) + c * kChunk);
    if constexpr (kDtype == KvDtype::kBf16) {
      *even = _mm512_castsi512_ps(_mm512_slli_epi32(raw, 16));
      *odd = _mm512_castsi512_ps(_mm512_and_si512(raw, _mm512_set1_epi32(~0xffff)));
    } else {
      *even = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(raw));
      *odd = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(raw, 16)));
    }
  }
}

// A query (f32) row in the split layout: q[32c + 2i] -> split[32c + i],
// q[32c + 2i + 1] -> split[32c + 16 + i]; zeros past D.
void SplitQuery(const float* q, int32_t D, int32_t chunks, float* split) {
  for (int32_t c = 0; c < chunks; ++c) {
    __m512 even, odd;
    LoadChunk<KvDtype::kF32>(reinterpret_cast<const uint8_t*>(q), c, D, &even, &odd);
    _mm512_storeu_ps(split + c * kChunk, even);
    _mm512_storeu_ps(split + c * kChunk + 16, odd);
  }
}

// Sixteen f32 accumulators, one per (head, key), reduced to one vector of their 16 sums by a
// fixed tree of in-register transposes and adds. Every add combines lanes of one accumulator
// only, and the same way whatever its position: a sum does not depend on its neighbours.
__m512 Reduce16(const __m512* acc) {
  __m512 t[8], u[4];
  for (int i = 0; i < 8; ++i) {
    t[i] = _mm512_add_ps(_mm512_unpacklo_ps(acc[2 * i], acc[2 * i + 1]),
                         _mm512_unpackhi_ps(acc[2 * i], acc[2 * i + 1]));
  }
  for (int i = 0; i < 4; ++i) {
    const __m512d a = _mm512_castps_pd(t[2 * i]), b = _mm512_castps_pd(t[2 * i + 1]);
    u[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
                         _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  }
  const __m512 w =
      _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x88), _mm512_shuffle_f32x4(u[0], u[1], 0xdd));
  const __m512 x =
      _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], 0x88), _mm512_shuffle_f32x4(u[2], u[3], 0xdd));
  return _mm512_add_ps(_mm512_shuffle_f32x4(w, x, 0x88), _mm512_shuffle_f32x4(w, x, 0xdd));
}

// scores[h][j] = q[h] . k[j] for H heads (1 or 2) and n keys, 16 / H keys per pass: each chunk
// of a key row is loaded and converted once for the H heads. With fewer keys left than a pass
// holds, the missing ones repeat the last key and their lanes are not stored: the loop stays
// branch-free, so the accumulators stay in registers.
template <KvDtype kDtype, int H>
void ScoreKeys(const float* q, int32_t chunks, const uint8_t* k, size_t row_bytes, int32_t n,
               int32_t D, float* const* scores) {
  constexpr int kKeys = 16 / H;
  for (int32_t j0 = 0; j0 < n; j0 += kKeys) {
    const int32_t keys = std::min<int32_t>(kKeys, n - j0);
    const uint8_t* rows[kKeys];
    for (int r = 0; r < kKeys; ++r) rows[r] = k + (j0 + std::min(r, keys - 1)) * row_bytes;
    __m512 acc[16];
    for (__m512& a : acc) a = _mm512_setzero_ps();
    for (int32_t c = 0; c < chunks; ++c) {
      for (int r = 0; r < kKeys; ++r) {
        __m512 even, odd;
        LoadChunk<kDtype>(rows[r], c, D, &even, &odd);
        for (int h = 0; h < H; ++h) {
          const float* qc = q + (h * chunks + c) * kChunk;
          acc[h * kKeys + r] = _mm512_fmadd_ps(_mm512_loadu_ps(qc), even, acc[h * kKeys + r]);
          acc[h * kKeys + r] = _mm512_fmadd_ps(_mm512_loadu_ps(qc + 16), odd, acc[h * kKeys + r]);
        }
      }
    }
    const __m512 sums = Reduce16(acc);
    _mm512_mask_storeu_ps(scores[0] + j0, FirstLanes(keys), sums);
    if constexpr (H == 2) {
      _mm512_mask_storeu_ps(scores[1] + j0, FirstLanes(keys),
                            _mm512_shuffle_f32x4(sums, sums, 0x4e));
    }
  }
}

// acc[h] = acc[h] * correction[h] + sum_j p[h][j] * v[j] for H heads (1 or 2), j in order,
// over W chunks from c0 in the split layout. With W = 2, four FMA chains per head overlap their
// latency; each value chunk is converted once for the H heads.
template <KvDtype kDtype, int H, int W>
void AccumulateChunks(float* const* acc, const float* correction, const float* const* p, int32_t n,
                      const uint8_t* v, size_t row_bytes, int32_t c0, int32_t D) {
  __m512 t[H][2 * W];
  for (int h = 0; h < H; ++h) {
    const __m512 corr = _mm512_set1_ps(correction[h]);
    for (int i = 0; i < 2 * W; ++i) {
      t[h][i] = _mm512_mul_ps(_mm512_loadu_ps(acc[h] + c0 * kChunk + 16 * i), corr);
    }
  }
  for (int32_t j = 0; j < n; ++j) {
    __m512 val[2 * W];
    for (int i = 0; i < W; ++i) {
      LoadChunk<kDtype>(v + j * row_bytes, c0 + i, D, &val[2 * i], &val[2 * i + 1]);
    }
    for (int h = 0; h < H; ++h) {
      const __m512 pj = _mm512_set1_ps(p[h][j]);
      for (int i = 0; i < 2 * W; ++i) t[h][i] = _mm512_fmadd_ps(pj, val[i], t[h][i]);
    }
  }
  for (int h = 0; h < H; ++h) {
    for (int i = 0; i < 2 * W; ++i) _mm512_storeu_ps(acc[h] + c0 * kChunk + 16 * i, t[h][i]);
  }
}

template <KvDtype kDtype, int H>
void AccumulateValues(float* const* acc, const float* correction, const float* const* p, int32_t n,
                      const uint8_t* v, size_t row_bytes, int32_t chunks, int32_t D) {
  int32_t c0 = 0;
  for (; c0 + 2 <= chunks; c0 += 2) {
    AccumulateChunks<kDtype, H, 2>(acc, correction, p, n, v, row_bytes, c0, D);
  }
  if (c0 < chunks) AccumulateChunks<kDtype, H, 1>(acc, correction, p, n, v, row_bytes, c0, D);
}

float ScaleMax(float* s, int32_t n, float scale) {
  const __m512 sc = _mm512_set1_ps(scale);
  __m512 max = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int32_t j = 0; j < n; j += 16) {
    const __mmask16 mask = FirstLanes(n - j);
    const __m512 x = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, s + j), sc);
    _mm512_mask_storeu_ps(s + j, mask, x);
    max = _mm512_mask_max_ps(max, mask, max, x);
  }
  return _mm512_reduce_max_ps(max);
}

// cpu::ExpShifted's polynomial on 16 lanes.
__m512 Exp16(__m512 v) {
  v = _mm512_max_ps(_mm512_set1_ps(-87.f), v);  // max_ps returns its second operand for NaN
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(v, _mm512_set1_ps(1.44269504f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(1.42860677e-6f),
                                    _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693145752f), v));
  __m512 p = _mm512_set1_ps(1.f / 720.f);
  for (const float c : {1.f / 120.f, 1.f / 24.f, 1.f / 6.f, 0.5f, 1.f, 1.f}) {
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
  }
  const __m512i bits =
      _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(k), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
}

// ~1e-38 rather than 0 for -inf: multiplied by an accumulator and a sum that are still 0.
float Exp(float x) { return _mm512_cvtss_f32(Exp16(_mm512_set1_ps(x))); }

float ExpSum(float* s, int32_t n, float shift) {
  const __m512 sh = _mm512_set1_ps(shift);
  __m512 sum = _mm512_setzero_ps();
  for (int32_t j = 0; j < n; j += 16) {
    const __mmask16 mask = FirstLanes(n - j);
    const __m512 e = Exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, s + j), sh));
    _mm512_mask_storeu_ps(s + j, mask, e);
    sum = _mm512_mask_add_ps(sum, mask, sum, e);
  }
  return _mm512_reduce_add_ps(sum);
}

// Per-task buffers, reused across the tasks of a worker.
struct Scratch {
  std::vector<float> q;    // [Q][heads][chunks * 32]: the tile's queries, split
  std::vector<float> acc;  // [Q][heads][chunks * 32]: value accumulators, split
  std::vector<float> scores, m, l;
};

// One task: query tokens [t_begin, t_end) of sequence seq, for kv heads [kvh_begin, kvh_end)
// and the query heads that share them. A block's heads lie side by side in the pool, so the
// task reads one contiguous run per block: random 4 KiB reads (one head of a Qwen3 block) reach
// half the bandwidth of 32 KiB ones (all eight) on the machines we measured. For each query
// and head the work is the same whatever task it is in: blocks in order, scores for a whole
// block, then one online-softmax rescale.
template <KvDtype kDtype>
void AttendQueryTile(const float* q, const PagedAttentionArgs& a, int32_t seq, int32_t t_begin,
                     int32_t t_end, int32_t kvh_begin, int32_t kvh_end, float* out, Scratch& s) {
  const int32_t D = a.head_dim;
  const int32_t G = a.num_heads / a.num_kv_heads;
  const int32_t B = a.block_size;
  const int32_t Q = t_end - t_begin;
  const int32_t heads = (kvh_end - kvh_begin) * G;  // query heads of the task
  const int32_t chunks = (D + kChunk - 1) / kChunk;
  const size_t row_bytes = static_cast<size_t>(D) * KvDtypeBytes(kDtype);
  const size_t head_stride = row_bytes * B;  // one head of one block
  const size_t block_stride = head_stride * a.num_kv_heads;
  const int32_t num_new = a.query_start[seq + 1] - a.query_start[seq];
  auto visible = [&](int32_t t) {
    return a.context_len[seq] - num_new + (t - a.query_start[seq]) + 1;
  };
  // Row of query qi, head h of the task, in q and out.
  auto row = [&](int32_t qi, int32_t h) {
    return (static_cast<int64_t>(t_begin + qi) * a.num_heads + kvh_begin * G + h) * D;
  };

  const size_t states = static_cast<size_t>(Q) * heads;
  const size_t split = static_cast<size_t>(chunks) * kChunk;
  s.q.resize(states * split);
  s.acc.assign(states * split, 0.f);
  s.scores.resize(static_cast<size_t>(G) * B);
  s.m.assign(states, -std::numeric_limits<float>::infinity());
  s.l.assign(states, 0.f);
  for (int32_t qi = 0; qi < Q; ++qi) {
    for (int32_t h = 0; h < heads; ++h) {
      SplitQuery(q + row(qi, h), D, chunks, &s.q[(static_cast<size_t>(qi) * heads + h) * split]);
    }
  }

  const auto* k_pool = static_cast<const uint8_t*>(a.k_pool);
  const auto* v_pool = static_cast<const uint8_t*>(a.v_pool);
  const int32_t* table = a.block_table + static_cast<int64_t>(seq) * a.max_blocks_per_seq;
  const int32_t last_visible = visible(t_end - 1);
  for (int32_t start = 0; start < last_visible; start += B) {
    const int32_t block_n = std::min(B, last_visible - start);
    for (int32_t kvh = kvh_begin; kvh < kvh_end; ++kvh) {
      const size_t offset =
          static_cast<size_t>(table[start / B]) * block_stride + kvh * head_stride;
      if (start + B < last_visible) {
        // The next block lies elsewhere in the pool, where the hardware prefetcher cannot
        // guess; decoding is bound by these reads.
        const size_t next =
            static_cast<size_t>(table[start / B + 1]) * block_stride + kvh * head_stride;
        for (size_t line = 0; line < head_stride; line += 64) {
          __builtin_prefetch(k_pool + next + line);
          __builtin_prefetch(v_pool + next + line);
        }
      }
      const int32_t h_first = (kvh - kvh_begin) * G;  // the group's first query head
      for (int32_t qi = 0; qi < Q; ++qi) {
        const int32_t n = std::min(block_n, visible(t_begin + qi) - start);
        if (n <= 0) continue;
        const size_t first = static_cast<size_t>(qi) * heads + h_first;
        for (int32_t g = 0; g < G; g += 2) {
          float* sg[2] = {&s.scores[static_cast<size_t>(g) * B],
                          &s.scores[static_cast<size_t>(std::min(g + 1, G - 1)) * B]};
          const float* qg = &s.q[(first + g) * split];
          if (g + 1 < G) {
            ScoreKeys<kDtype, 2>(qg, chunks, k_pool + offset, row_bytes, n, D, sg);
          } else {
            ScoreKeys<kDtype, 1>(qg, chunks, k_pool + offset, row_bytes, n, D, sg);
          }
        }
        float correction[2];
        for (int32_t g = 0; g < G; ++g) {
          const size_t state = first + g;
          float* sg = &s.scores[static_cast<size_t>(g) * B];
          const float m_new = std::max(s.m[state], ScaleMax(sg, n, a.scale));
          correction[g % 2] = Exp(s.m[state] - m_new);  // ~0 on the first block (m = -inf)
          s.l[state] = s.l[state] * correction[g % 2] + ExpSum(sg, n, m_new);
          s.m[state] = m_new;
          if (g % 2 == 0 && g + 1 < G) continue;  // its pair's probabilities come next
          const int32_t g0 = g - g % 2;
          const float* pg[2] = {&s.scores[static_cast<size_t>(g0) * B],
                                &s.scores[static_cast<size_t>(g) * B]};
          float* accg[2] = {&s.acc[(first + g0) * split], &s.acc[(first + g) * split]};
          if (g != g0) {
            AccumulateValues<kDtype, 2>(accg, correction, pg, n, v_pool + offset, row_bytes, chunks,
                                        D);
          } else {
            AccumulateValues<kDtype, 1>(accg, correction, pg, n, v_pool + offset, row_bytes, chunks,
                                        D);
          }
        }
      }
    }
  }
  // Interleave the even and odd halves back and normalize.
  const __m512i lo_idx = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i hi_idx = _mm512_add_epi32(lo_idx, _mm512_set1_epi32(8));
  for (int32_t qi = 0; qi < Q; ++qi) {
    for (int32_t h = 0; h < heads; ++h) {
      const size_t state = static_cast<size_t>(qi) * heads + h;
      const float* acc = &s.acc[state * split];
      const __m512 inv = _mm512_set1_ps(1.f / s.l[state]);
      float* o = out + row(qi, h);
      for (int32_t c = 0; c < chunks; ++c) {
        const int32_t d = c * kChunk;
        const __mmask32 mask = FirstElements(D - d);
        const __m512 even = _mm512_loadu_ps(acc + d), odd = _mm512_loadu_ps(acc + d + 16);
        _mm512_mask_storeu_ps(o + d, static_cast<__mmask16>(mask),
                              _mm512_mul_ps(_mm512_permutex2var_ps(even, lo_idx, odd), inv));
        _mm512_mask_storeu_ps(o + d + 16, static_cast<__mmask16>(mask >> 16),
                              _mm512_mul_ps(_mm512_permutex2var_ps(even, hi_idx, odd), inv));
      }
    }
  }
}

}  // namespace

void PagedAttentionImpl(const float* q, const PagedAttentionArgs& a, float* out, ThreadPool& pool) {
  CHECK_EQ(a.num_heads % a.num_kv_heads, 0);
  const std::vector<AttentionTask> tasks =
      SplitAttention(a, kQueryTile, pool.num_threads(), a.num_kv_heads);
  auto attend = &AttendQueryTile<KvDtype::kBf16>;
  if (a.kv_dtype == KvDtype::kF16) attend = &AttendQueryTile<KvDtype::kF16>;
  if (a.kv_dtype == KvDtype::kF32) attend = &AttendQueryTile<KvDtype::kF32>;
  pool.ParallelFor(static_cast<int64_t>(tasks.size()), 1, [&](int64_t begin, int64_t end) {
    Scratch scratch;
    for (int64_t i = begin; i < end; ++i) {
      const AttentionTask& task = tasks[static_cast<size_t>(i)];
      attend(q, a, task.seq, task.t_begin, task.t_end, task.kvh_begin, task.kvh_end, out, scratch);
    }
  });
}

}  // namespace ts::cpu::avx512
