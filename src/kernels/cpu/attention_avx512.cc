// AVX-512 build of paged attention (attention_impl.inc).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/check.h"
#include "base/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/cpu/simd_util.h"

namespace ts::cpu::avx512 {
namespace {

__mmask16 FirstLanes(int32_t n) {
  return static_cast<__mmask16>(n >= 16 ? 0xffff : (1u << n) - 1);
}

// Sixteen keys at a time: one 16-lane accumulator per key (partial sums over d, the tail of
// D % 16 through masked loads), then one fixed tree of in-register transposes and adds turns
// the 16 accumulators into one vector of 16 scores (no horizontal sum per key). Every add
// combines lanes of one key only, so a score does not depend on the other keys.
// With fewer than 16 keys the missing ones repeat the last key and their lanes are dropped at
// the store: the loop stays branch-free, so the accumulators stay in registers.
void Score16(const float* q, const float* k, int32_t n, int32_t D, float* out) {
  const float* rows[16];
  for (int j = 0; j < 16; ++j) rows[j] = k + std::min(j, n - 1) * D;
  __m512 acc[16];
  for (int j = 0; j < 16; ++j) acc[j] = _mm512_setzero_ps();
  int32_t d = 0;
  for (; d + 16 <= D; d += 16) {
    const __m512 qv = _mm512_loadu_ps(q + d);
    for (int j = 0; j < 16; ++j) acc[j] = _mm512_fmadd_ps(qv, _mm512_loadu_ps(rows[j] + d), acc[j]);
  }
  if (d < D) {
    const __mmask16 mask = FirstLanes(D - d);
    const __m512 qv = _mm512_maskz_loadu_ps(mask, q + d);
    for (int j = 0; j < 16; ++j) {
      acc[j] = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mask, rows[j] + d), acc[j]);
    }
  }
  // Within 128-bit lanes: pairs of keys, elements 0+2 and 1+3; then 4 keys per 128-bit lane.
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
  // Across the four 128-bit lanes: (0 + 1) and (2 + 3), then their sum, keys in order.
  const __m512 w =
      _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x88), _mm512_shuffle_f32x4(u[0], u[1], 0xdd));
  const __m512 x =
      _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], 0x88), _mm512_shuffle_f32x4(u[2], u[3], 0xdd));
  const __m512 scores =
      _mm512_add_ps(_mm512_shuffle_f32x4(w, x, 0x88), _mm512_shuffle_f32x4(w, x, 0xdd));
  _mm512_mask_storeu_ps(out, FirstLanes(n), scores);
}

void ScoreKeys(const float* q, const float* k, int32_t n, int32_t D, float* out) {
  for (int32_t j = 0; j < n; j += 16) Score16(q, k + j * D, std::min(n - j, 16), D, out + j);
}

// Up to four 16-lane chunks of d at once, so four FMA chains overlap their latency; each lane
// adds p[j] * v[j][d] in the order of j, whatever the chunking.
void AccumulateValues(float* __restrict acc, float correction, const float* __restrict p, int32_t n,
                      const float* __restrict v, int32_t D) {
  const __m512 c = _mm512_set1_ps(correction);
  for (int32_t d0 = 0; d0 < D; d0 += 64) {
    __mmask16 mask[4];
    __m512 t[4];
    for (int i = 0; i < 4; ++i) {
      mask[i] = FirstLanes(std::max(0, D - d0 - 16 * i));
      t[i] = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask[i], acc + d0 + 16 * i), c);
    }
    for (int32_t j = 0; j < n; ++j) {
      const __m512 pj = _mm512_set1_ps(p[j]);
      const float* vj = v + j * D + d0;
      for (int i = 0; i < 4; ++i) {
        t[i] = _mm512_fmadd_ps(pj, _mm512_maskz_loadu_ps(mask[i], vj + 16 * i), t[i]);
      }
    }
    for (int i = 0; i < 4; ++i) _mm512_mask_storeu_ps(acc + d0 + 16 * i, mask[i], t[i]);
  }
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

}  // namespace

#include "kernels/cpu/attention_impl.inc"

}  // namespace ts::cpu::avx512
