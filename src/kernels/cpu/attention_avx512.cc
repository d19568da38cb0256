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

// Sixteen keys at a time: one 16-lane accumulator per key (partial sums over d, the tail of
// D % 16 through masked loads), then one fixed tree of in-register transposes and adds turns
// the 16 accumulators into one vector of 16 scores (no horizontal sum per key). Every add
// combines lanes of one key only, so a score does not depend on the other keys.
void Score16(const float* q, const float* k, int32_t n, int32_t D, float* out) {
  __m512 acc[16];
  for (int j = 0; j < 16; ++j) acc[j] = _mm512_setzero_ps();
  for (int32_t d = 0; d < D; d += 16) {
    const __mmask16 mask = static_cast<__mmask16>(D - d >= 16 ? 0xffff : (1u << (D - d)) - 1);
    const __m512 qv = _mm512_maskz_loadu_ps(mask, q + d);
    for (int j = 0; j < 16; ++j) {
      if (j < n) acc[j] = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(mask, k + j * D + d), acc[j]);
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
  _mm512_mask_storeu_ps(out, static_cast<__mmask16>(n >= 16 ? 0xffff : (1u << n) - 1), scores);
}

void ScoreKeys(const float* q, const float* k, int32_t n, int32_t D, float* out) {
  for (int32_t j = 0; j < n; j += 16) Score16(q, k + j * D, std::min(n - j, 16), D, out + j);
}

// In registers, 16 values of d at a time (the tail of D % 16 masked).
void AccumulateValues(float* __restrict acc, float correction, const float* __restrict p, int32_t n,
                      const float* __restrict v, int32_t D) {
  const __m512 c = _mm512_set1_ps(correction);
  for (int32_t d = 0; d < D; d += 16) {
    const __mmask16 mask = static_cast<__mmask16>(D - d >= 16 ? 0xffff : (1u << (D - d)) - 1);
    __m512 t = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, acc + d), c);
    for (int32_t j = 0; j < n; ++j) {
      t = _mm512_fmadd_ps(_mm512_set1_ps(p[j]), _mm512_maskz_loadu_ps(mask, v + j * D + d), t);
    }
    _mm512_mask_storeu_ps(acc + d, mask, t);
  }
}

}  // namespace

#include "kernels/cpu/attention_impl.inc"

}  // namespace ts::cpu::avx512
