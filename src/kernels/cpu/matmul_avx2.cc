// AVX2+FMA+F16C instantiation of the matmul tiles: the fallback for any x86-64 with AVX2.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "base/half.h"
#include "base/thread_pool.h"
#include "kernels/weight_matrix.h"

namespace ts::cpu::avx2 {

struct I {
  using V = __m256;
  static constexpr int kWidth = 8;
  static constexpr int kMR = 4;  // 8 accumulators + 2 weights + 1 activation of 16 ymm
  static constexpr int kNR = 2;
  static V Zero() { return _mm256_setzero_ps(); }
  static V Set1(float f) { return _mm256_set1_ps(f); }
  static V Load(const float* p) { return _mm256_loadu_ps(p); }
  static void Store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V Fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static float Hsum(V v) {
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
  }
  static V LoadBf16(const uint16_t* p) {
    __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
  static V LoadF16(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static V LoadQ8(const uint8_t* p) {
    uint64_t bytes;
    std::memcpy(&bytes, p, 8);
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(bytes))));
  }
  // 8 nibbles from 4 bytes, low nibble first.
  static V LoadQ4(const uint8_t* p) {
    uint32_t bytes;
    std::memcpy(&bytes, p, 4);
    __m128i b16 = _mm_cvtepu8_epi16(_mm_cvtsi32_si128(static_cast<int>(bytes)));
    __m128i lo = _mm_and_si128(b16, _mm_set1_epi16(0x0f));
    __m128i hi = _mm_srli_epi16(b16, 4);
    __m128i interleaved = _mm_or_si128(lo, _mm_slli_epi16(hi, 8));
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(interleaved));
  }
};

#include "kernels/cpu/matmul_tiles.inc"

}  // namespace ts::cpu::avx2
