// AVX512-VNNI matmul of quantized weights (packed, kernels/packed_quant.h) by activations
// rounded to int16 (or int8) per quantization group:
//   y[t][n] = sum_g scale_w[n][g] * scale_x[t][g] * (sum_{k in g} q_w[n][k] * q_x[t][k])
//             + bias_w[n][g] * sum_{k in g} x[t][k]
// The inner sums are exact int32 (vpdpwssd on int16 pairs, or vpdpbusd on unsigned weight
// bytes times signed activation bytes), and each output lane adds its groups in one fixed
// order, so a row's result depends only on that row: batch- and thread-invariant like the f32
// tiles. A 64-byte weight load feeds 16 outputs against broadcasts of the activations: two
// (int16) or four (int8) times the products per instruction of the f32 FMA tiles.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/packed_quant.h"

namespace ts::cpu::vnni {
namespace {

constexpr int kMR = 4;   // activation rows per tile
constexpr int kNRV = 2;  // 16-row weight blocks per tile: 8 + 8 accumulators of 32 zmm
constexpr int kLanes = PackedQuantMatrix::kLanes;

struct QuantizedRows {
  std::vector<uint8_t> q;    // [T][K] int8 or int16
  std::vector<float> scale;  // [T][groups]
  std::vector<float> sum;    // [T][groups]
};

// Fixed tree, as the f32 tiles' horizontal sum.
float Hsum(__m512 v) {
  __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}

// One row, per group: scale = max|x| / L and q = round-half-even(x * L / max|x|), L the
// largest kXBits-bit integer (reference::QuantizeActivations).
template <int kXBits>
void QuantizeRow(const float* x, int64_t K, int64_t G, uint8_t* q, float* scale, float* sum) {
  constexpr float kLimit = kXBits == 8 ? 127.f : 32767.f;
  const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  for (int64_t g = 0; g < K / G; ++g) {
    const float* xg = x + g * G;
    __m512 max_abs = _mm512_setzero_ps(), s = _mm512_setzero_ps();
    for (int64_t k = 0; k < G; k += 16) {
      const __m512 v = _mm512_loadu_ps(xg + k);
      max_abs = _mm512_max_ps(max_abs, _mm512_and_ps(v, abs_mask));
      s = _mm512_add_ps(s, v);
    }
    const float m = _mm512_reduce_max_ps(max_abs);
    const __m512 inv = _mm512_set1_ps(m > 0.f ? kLimit / m : 0.f);
    for (int64_t k = 0; k < G; k += 16) {
      const __m512i i = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xg + k), inv));
      if constexpr (kXBits == 8) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + g * G + k), _mm512_cvtsepi32_epi8(i));
      } else {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 2 * (g * G + k)),
                            _mm512_cvtsepi32_epi16(i));
      }
    }
    scale[g] = m / kLimit;
    sum[g] = Hsum(s);
  }
}

template <int kXBits>
void QuantizeRows(const float* x, int64_t num_rows, int64_t K, int64_t G, QuantizedRows& out,
                  ThreadPool& pool) {
  const int64_t groups = K / G, row_bytes = K * kXBits / 8;
  out.q.resize(static_cast<size_t>(num_rows * row_bytes));
  out.scale.resize(static_cast<size_t>(num_rows * groups));
  out.sum.resize(out.scale.size());
  const int64_t grain = std::max<int64_t>(1, num_rows / (4 * pool.num_threads()));
  pool.ParallelFor(num_rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      QuantizeRow<kXBits>(x + t * K, K, G, out.q.data() + t * row_bytes,
                          out.scale.data() + t * groups, out.sum.data() + t * groups);
    }
  });
}

// A 64-byte cell step holds 4 (q8) or 8 (q4) k per lane. It is cut into pieces that each
// meet one 32-bit broadcast of activations: 4 k of int8, or 2 k of int16 (bytes widened to
// words by a shuffle within each 128-bit lane).
template <int kBits, int kXBits>
struct Step {
  static constexpr int kK = kBits == 8 ? 4 : 8;
  static constexpr int kPieces = kK / (kXBits == 8 ? 4 : 2);

  static void Unpack(__m512i v, __m512i* piece) {
    const __m512i nibble = _mm512_set1_epi8(0x0f);
    __m512i bytes[2] = {v, v};
    int n = 1;
    if constexpr (kBits == 4) {
      bytes[0] = _mm512_and_si512(v, nibble);
      bytes[1] = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble);
      n = 2;
    }
    for (int i = 0; i < n; ++i) {
      if constexpr (kXBits == 8) {
        piece[i] = bytes[i];
      } else {
        // Per 32-bit lane of 4 bytes (k0..k3): words (k0, k1), then words (k2, k3).
        const __m512i lo =
            _mm512_set4_epi32(static_cast<int>(0x800d800c), static_cast<int>(0x80098008),
                              static_cast<int>(0x80058004), static_cast<int>(0x80018000));
        const __m512i hi =
            _mm512_set4_epi32(static_cast<int>(0x800f800e), static_cast<int>(0x800b800a),
                              static_cast<int>(0x80078006), static_cast<int>(0x80038002));
        piece[2 * i] = _mm512_shuffle_epi8(bytes[i], lo);
        piece[2 * i + 1] = _mm512_shuffle_epi8(bytes[i], hi);
      }
    }
  }

  static __m512i Dot(__m512i acc, __m512i w, __m512i x) {
    if constexpr (kXBits == 8) {
      return _mm512_dpbusd_epi32(acc, w, x);
    } else {
      return _mm512_dpwssd_epi32(acc, w, x);
    }
  }
};

// Rows t0..t0+MR of y against weight blocks rb0..rb0+NRV (16 outputs each).
template <int kBits, int kXBits, int MR, int NRV>
void Tile(const QuantizedRows& x, int64_t t0, const PackedQuantMatrix& w, int64_t rb0, float* y) {
  using S = Step<kBits, kXBits>;
  const int64_t K = w.cols(), G = w.group_size(), groups = w.groups(), N = w.rows();
  const int64_t x_row_bytes = K * kXBits / 8;
  const ptrdiff_t next_blocks = w.cell(rb0 + NRV, 0) - w.cell(rb0, 0);
  __m512 acc[MR][NRV];
  for (int m = 0; m < MR; ++m)
    for (int j = 0; j < NRV; ++j) acc[m][j] = _mm512_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    const uint8_t* cell[NRV];
    for (int j = 0; j < NRV; ++j) cell[j] = w.cell(rb0 + j, g);
    const int32_t* xg[MR];
    for (int m = 0; m < MR; ++m) {
      xg[m] = reinterpret_cast<const int32_t*>(x.q.data() + (t0 + m) * x_row_bytes +
                                               g * G * kXBits / 8);
    }
    __m512i dot[MR][NRV];
    for (int m = 0; m < MR; ++m)
      for (int j = 0; j < NRV; ++j) dot[m][j] = _mm512_setzero_si512();
    for (int64_t s = 0; s < G / S::kK; ++s) {
      // The same step of the next NRV weight blocks: as in the f32 tiles, the hardware
      // prefetcher alone keeps too little in flight once the tile's own weights come from
      // cache. Past the end of the matrix these are harmless hints.
      for (int j = 0; j < NRV; ++j) {
        _mm_prefetch(reinterpret_cast<const char*>(cell[j] + next_blocks + 64 * s), _MM_HINT_T0);
      }
      __m512i piece[NRV][S::kPieces];
      for (int j = 0; j < NRV; ++j) S::Unpack(_mm512_load_si512(cell[j] + 64 * s), piece[j]);
      for (int p = 0; p < S::kPieces; ++p) {
        for (int m = 0; m < MR; ++m) {
          const __m512i xv = _mm512_set1_epi32(xg[m][s * S::kPieces + p]);
          for (int j = 0; j < NRV; ++j) dot[m][j] = S::Dot(dot[m][j], piece[j][p], xv);
        }
      }
    }
    __m512 scale[NRV], bias[NRV];
    for (int j = 0; j < NRV; ++j) {
      const float* sb = reinterpret_cast<const float*>(cell[j] + w.quant_bytes());
      scale[j] = _mm512_load_ps(sb);
      bias[j] = _mm512_load_ps(sb + kLanes);
    }
    for (int m = 0; m < MR; ++m) {
      const __m512 sx = _mm512_set1_ps(x.scale[(t0 + m) * groups + g]);
      const __m512 sum = _mm512_set1_ps(x.sum[(t0 + m) * groups + g]);
      for (int j = 0; j < NRV; ++j) {
        acc[m][j] =
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[m][j]), _mm512_mul_ps(scale[j], sx), acc[m][j]);
        acc[m][j] = _mm512_fmadd_ps(bias[j], sum, acc[m][j]);
      }
    }
  }
  for (int j = 0; j < NRV; ++j) {
    const int64_t n0 = (rb0 + j) * kLanes;
    const __mmask16 valid =
        static_cast<__mmask16>(N - n0 >= kLanes ? 0xffff : (1u << (N - n0)) - 1);
    for (int m = 0; m < MR; ++m) _mm512_mask_storeu_ps(y + (t0 + m) * N + n0, valid, acc[m][j]);
  }
}

template <int kBits, int kXBits, int NRV, int MR = kMR>
void RowsTile(int rows, const QuantizedRows& x, int64_t t0, const PackedQuantMatrix& w, int64_t rb0,
              float* y) {
  if constexpr (MR > 0) {
    if (rows == MR) return Tile<kBits, kXBits, MR, NRV>(x, t0, w, rb0, y);
    RowsTile<kBits, kXBits, NRV, MR - 1>(rows, x, t0, w, rb0, y);
  }
}

template <int kBits, int kXBits>
void Run(const float* x_f32, int64_t num_rows, const PackedQuantMatrix& w, float* y,
         ThreadPool& pool) {
  // Reused across calls: the engine thread multiplies a few hundred times per step. (Bound to
  // a reference here: named inside the workers' lambda it would be each worker's own copy.)
  thread_local QuantizedRows buffer;
  QuantizedRows& x = buffer;
  QuantizeRows<kXBits>(x_f32, num_rows, w.cols(), w.group_size(), x, pool);
  const int64_t K = w.cols(), row_blocks = w.row_blocks();
  const int64_t pairs = (row_blocks + kNRV - 1) / kNRV;
  // Activation panels of ~256 KB stay in L2 while a thread's weight blocks pass over them.
  const int64_t panel_rows =
      std::clamp<int64_t>((256 << 10) / (K * kXBits / 8) / kMR * kMR, kMR, 64 * kMR);
  const int64_t grain = std::max<int64_t>(1, pairs / (8 * pool.num_threads()));
  pool.ParallelFor(pairs, grain, [&](int64_t begin, int64_t end) {
    for (int64_t p0 = 0; p0 < num_rows; p0 += panel_rows) {
      const int64_t p1 = std::min(num_rows, p0 + panel_rows);
      for (int64_t pair = begin; pair < end; ++pair) {
        const int64_t rb0 = pair * kNRV;
        const bool full = rb0 + kNRV <= row_blocks;
        for (int64_t t0 = p0; t0 < p1; t0 += kMR) {
          const int rows = static_cast<int>(std::min<int64_t>(kMR, p1 - t0));
          if (full) {
            RowsTile<kBits, kXBits, kNRV>(rows, x, t0, w, rb0, y);
          } else {
            RowsTile<kBits, kXBits, 1>(rows, x, t0, w, rb0, y);
          }
        }
      }
    }
  });
}

}  // namespace

void MatMulPackedImpl(const float* x, int64_t num_rows, const PackedQuantMatrix& w, float* y,
                      ThreadPool& pool) {
  const bool int8 = w.activation_bits() == 8;
  if (w.bits() == 8) {
    int8 ? Run<8, 8>(x, num_rows, w, y, pool) : Run<8, 16>(x, num_rows, w, y, pool);
  } else {
    int8 ? Run<4, 8>(x, num_rows, w, y, pool) : Run<4, 16>(x, num_rows, w, y, pool);
  }
}

}  // namespace ts::cpu::vnni
