// Helpers for kernels written as plain loops that GCC vectorizes (kernels/cpu is compiled
// with AVX2+FMA+F16C at least). Float reductions keep kLanes independent partial sums,
// reduced in one fixed order at the end, so the compiler can vectorize them without
// reassociating and results are identical on every call. The functions are static: files
// built for different instruction sets must each keep their own copies (an inline function
// would be merged by the linker into one copy, possibly built with instructions this CPU lacks).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "base/half.h"
#include "kernels/kv_dtype.h"

namespace ts::cpu {

constexpr int kLanes = 16;

static inline float ReduceLanes(const float* lanes) {
  float s8[8], s4[4];
  for (int i = 0; i < 8; ++i) s8[i] = lanes[i] + lanes[i + 8];
  for (int i = 0; i < 4; ++i) s4[i] = s8[i] + s8[i + 4];
  return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

// sum_i a[i] * b[i], fixed order.
static inline float Dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) lanes[l] += a[i + l] * b[i + l];
  }
  float tail = 0.f;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ReduceLanes(lanes) + tail;
}

// exp(v) in straight-line arithmetic that GCC vectorizes inside loops (libm's expf is a call
// per element): 2^k * p(r) with k = rint(v / ln 2), r the remainder (|r| <= ln2 / 2) and p the
// degree-6 Taylor polynomial (relative error < 2e-7). v is clamped to [-87, 88]: below, ~0
// (softmax underflow); above, ~1.7e38 instead of infinity.
static inline float Exp(float v) {
  v = std::min(std::max(v, -87.f), 88.f);
  const float k = __builtin_rintf(v * 1.44269504f);
  const float r = (v - k * 0.693145752f) - k * 1.42860677e-6f;
  float p = 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

// x[i] = exp(x[i] - shift) for n values.
static inline void ExpShifted(float* __restrict x, int64_t n, float shift) {
  for (int64_t i = 0; i < n; ++i) x[i] = Exp(x[i] - shift);
}

static inline float SumSquares(const float* __restrict a, int64_t n) { return Dot(a, a, n); }

static inline void KvToF32(const void* src, KvDtype dtype, int64_t n, float* __restrict out) {
  switch (dtype) {
    case KvDtype::kF32:
      std::memcpy(out, src, static_cast<size_t>(n) * 4);
      return;
    case KvDtype::kBf16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) {
        uint32_t bits = static_cast<uint32_t>(s[i]) << 16;
        std::memcpy(&out[i], &bits, 4);
      }
      return;
    }
    case KvDtype::kF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) out[i] = F16ToF32(s[i]);
      return;
    }
  }
}

static inline void F32ToKv(const float* src, KvDtype dtype, int64_t n, void* dst) {
  switch (dtype) {
    case KvDtype::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case KvDtype::kBf16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = F32ToBf16(src[i]);
      return;
    }
    case KvDtype::kF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = F32ToF16(src[i]);
      return;
    }
  }
}

}  // namespace ts::cpu
