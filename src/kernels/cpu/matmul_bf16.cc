// AVX512-BF16 matmul of bf16 weights (packed, kernels/packed_bf16.h) by activations rounded to
// bf16: y[t][n] = sum_k bf16(x[t][k]) * w[n][k], each product exact in f32. A 64-byte weight
// load feeds 16 outputs against a broadcast pair of activations (vdpbf16ps: 32 products per
// instruction, twice the f32 FMA tiles). Each output lane adds its pairs in order of k, so a
// row's result depends only on that row: batch- and thread-invariant.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/packed_bf16.h"

namespace ts::cpu::bf16 {
namespace {

constexpr int kMR = 4;   // activation rows per tile
constexpr int kNRV = 4;  // 16-row weight blocks per tile: 16 accumulators
constexpr int kLanes = PackedBf16Matrix::kLanes;

// 16 floats to bf16, round to nearest even, NaN kept a NaN (as F32ToBf16 in base/half.h).
__m256i ToBf16(__m512 v) {
  const __m512i bits = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i rounded =
      _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(bits, _mm512_set1_epi32(0x7fffffff)),
                                                _mm512_set1_epi32(0x7f800000));
  const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x40));
  return _mm512_cvtepi32_epi16(_mm512_mask_mov_epi32(rounded, nan, quiet));
}

// Rows of x as bf16, stride words per row (pairs of k; an odd K's last pair padded with 0).
void ConvertRows(const float* x, int64_t num_rows, int64_t K, int64_t stride,
                 std::vector<uint32_t>& out, ThreadPool& pool) {
  out.resize(static_cast<size_t>(num_rows * stride));
  pool.ParallelFor(num_rows, std::max<int64_t>(1, num_rows / (4 * pool.num_threads())),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t t = begin; t < end; ++t) {
                       auto* row = reinterpret_cast<uint16_t*>(out.data() + t * stride);
                       for (int64_t k = 0; k < 2 * stride; k += 16) {
                         const int64_t left = std::clamp<int64_t>(K - k, 0, 16);
                         const __mmask16 mask = static_cast<__mmask16>((1u << left) - 1);
                         const __m512 v = _mm512_maskz_loadu_ps(mask, x + t * K + k);
                         _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + k), ToBf16(v));
                       }
                     }
                   });
}

// Rows t0..t0+MR of y against weight blocks rb0..rb0+NRV (16 outputs each).
template <int MR, int NRV>
void Tile(const uint32_t* x, int64_t stride, int64_t t0, const PackedBf16Matrix& w, int64_t rb0,
          float* y) {
  const int64_t N = w.rows();
  __m512 acc[MR][NRV];
  for (int m = 0; m < MR; ++m)
    for (int j = 0; j < NRV; ++j) acc[m][j] = _mm512_setzero_ps();
  const uint32_t* block[NRV];
  for (int j = 0; j < NRV; ++j) block[j] = w.block(rb0 + j);
  const uint32_t* row[MR];
  for (int m = 0; m < MR; ++m) row[m] = x + (t0 + m) * stride;
  for (int64_t s = 0; s < w.pairs(); ++s) {
    __m512bh wv[NRV];
    for (int j = 0; j < NRV; ++j) wv[j] = (__m512bh)_mm512_load_si512(block[j] + s * kLanes);
    for (int m = 0; m < MR; ++m) {
      const __m512bh xv = (__m512bh)_mm512_set1_epi32(static_cast<int>(row[m][s]));
      for (int j = 0; j < NRV; ++j) acc[m][j] = _mm512_dpbf16_ps(acc[m][j], wv[j], xv);
    }
  }
  for (int j = 0; j < NRV; ++j) {
    const int64_t n0 = (rb0 + j) * kLanes;
    const __mmask16 valid =
        static_cast<__mmask16>(N - n0 >= kLanes ? 0xffff : (1u << (N - n0)) - 1);
    for (int m = 0; m < MR; ++m) _mm512_mask_storeu_ps(y + (t0 + m) * N + n0, valid, acc[m][j]);
  }
}

template <int NRV, int MR = kMR>
void RowsTile(int rows, const uint32_t* x, int64_t stride, int64_t t0, const PackedBf16Matrix& w,
              int64_t rb0, float* y) {
  if constexpr (MR > 0) {
    if (rows == MR) return Tile<MR, NRV>(x, stride, t0, w, rb0, y);
    RowsTile<NRV, MR - 1>(rows, x, stride, t0, w, rb0, y);
  }
}

}  // namespace

void MatMulPackedBf16Impl(const float* x_f32, int64_t num_rows, const PackedBf16Matrix& w,
                          float* y, ThreadPool& pool) {
  // Reused across calls (bound to a reference: inside the workers' lambda it would be each
  // worker's own copy).
  thread_local std::vector<uint32_t> buffer;
  std::vector<uint32_t>& x = buffer;
  const int64_t stride = (w.pairs() + 7) / 8 * 8;  // whole 16-value stores
  ConvertRows(x_f32, num_rows, w.cols(), stride, x, pool);
  const int64_t row_blocks = w.row_blocks();
  const int64_t groups = (row_blocks + kNRV - 1) / kNRV;
  // Activation panels of ~256 KB stay in L2 while a thread's weight blocks pass over them.
  const int64_t panel_rows =
      std::clamp<int64_t>((256 << 10) / (stride * 4) / kMR * kMR, kMR, 64 * kMR);
  const int64_t grain = std::max<int64_t>(1, groups / (8 * pool.num_threads()));
  pool.ParallelFor(groups, grain, [&](int64_t begin, int64_t end) {
    for (int64_t p0 = 0; p0 < num_rows; p0 += panel_rows) {
      const int64_t p1 = std::min(num_rows, p0 + panel_rows);
      for (int64_t group = begin; group < end; ++group) {
        const int64_t rb0 = group * kNRV;
        for (int64_t t0 = p0; t0 < p1; t0 += kMR) {
          const int rows = static_cast<int>(std::min<int64_t>(kMR, p1 - t0));
          if (rb0 + kNRV <= row_blocks) {
            RowsTile<kNRV>(rows, x.data(), stride, t0, w, rb0, y);
          } else {
            for (int64_t rb = rb0; rb < row_blocks; ++rb) {
              RowsTile<1>(rows, x.data(), stride, t0, w, rb, y);
            }
          }
        }
      }
    }
  });
}

}  // namespace ts::cpu::bf16
