// AVX-512 instantiation of the matmul tiles (compiled with -mavx512f -mavx512bw -mavx512vl).
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/half.h"
#include "base/thread_pool.h"
#include "kernels/weight_matrix.h"

namespace ts::cpu::avx512 {

struct I {
  using V = __m512;
  static constexpr int kWidth = 16;
  static constexpr int kMR = 4;  // 16 accumulators + 4 weight vectors + 1 activation of 32 zmm
  static constexpr int kNR = 4;
  static V Zero() { return _mm512_setzero_ps(); }
  static V Set1(float f) { return _mm512_set1_ps(f); }
  static V Load(const float* p) { return _mm512_loadu_ps(p); }
  static void Store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V Fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static float Hsum(V v) {
    // Fixed tree: halves, then quarters, then pairs.
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
  }
  static V LoadBf16(const uint16_t* p) {
    __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
  }
  static V LoadF16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static V LoadQ8(const uint8_t* p) {
    return _mm512_cvtepi32_ps(
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  // 16 nibbles from 8 bytes, element order: low nibble of byte 0, high nibble of byte 0, ...
  static V LoadQ4(const uint8_t* p) {
    uint64_t bytes;
    std::memcpy(&bytes, p, 8);
    __m128i b16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(bytes)));
    __m128i lo = _mm_and_si128(b16, _mm_set1_epi16(0x0f));
    __m128i hi = _mm_srli_epi16(b16, 4);
    __m128i interleaved = _mm_or_si128(lo, _mm_slli_epi16(hi, 8));
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(interleaved));
  }
};

#include "kernels/cpu/matmul_tiles.inc"

}  // namespace ts::cpu::avx512
