// AVX2+FMA+F16C build of paged attention (attention_impl.inc).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/check.h"
#include "base/thread_pool.h"
#include "kernels/attention.h"
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

}  // namespace

#include "kernels/cpu/attention_impl.inc"

}  // namespace ts::cpu::avx2
