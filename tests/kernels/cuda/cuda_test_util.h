// Helpers of the CUDA kernel tests: device buffers from host vectors and back, poisoned
// outputs, tolerance checks, and random paged-attention problems with their CPU reference.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "base/half.h"
#include "kernels/attention.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/cuda_memory.h"
#include "kernels/reference/reference_kernels.h"
#include "tests/kernels/cpu/test_weights.h"

namespace ts {

template <typename T>
CudaBuffer Upload(const std::vector<T>& v) {
  auto b = CudaBuffer::Allocate(std::max<size_t>(1, v.size()) * sizeof(T));
  CHECK(b.ok());
  CUDA_CHECK(cudaMemcpy(b->get(), v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  return std::move(*b);
}

// A device buffer of n elements, poisoned (0xFF bytes: NaN for floats) so that unwritten
// outputs fail the comparison.
inline CudaBuffer Poisoned(size_t bytes) {
  auto b = CudaBuffer::Allocate(std::max<size_t>(1, bytes));
  CHECK(b.ok());
  CUDA_CHECK(cudaMemset(b->get(), 0xFF, bytes));
  return std::move(*b);
}

template <typename T>
std::vector<T> Download(const CudaBuffer& b, size_t n) {
  CUDA_CHECK(cudaDeviceSynchronize());
  CUDA_CHECK(cudaGetLastError());
  std::vector<T> v(n);
  CUDA_CHECK(cudaMemcpy(v.data(), b.get(), n * sizeof(T), cudaMemcpyDeviceToHost));
  return v;
}

inline std::vector<float> Bf16ToFloats(const std::vector<uint16_t>& v) {
  std::vector<float> f(v.size());
  for (size_t i = 0; i < v.size(); ++i) f[i] = Bf16ToF32(v[i]);
  return f;
}

inline std::vector<float> RoundToBf16(std::vector<float> v) {
  for (float& x : v) x = Bf16ToF32(F32ToBf16(x));
  return v;
}

// max |got - want| <= tolerance * max |want|, and nothing is NaN.
inline void ExpectClose(const std::vector<float>& got, const std::vector<float>& want,
                        double tolerance, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double max_diff = 0, max_ref = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_FALSE(std::isnan(got[i])) << what << " at " << i;
    max_diff = std::max(max_diff, std::fabs(static_cast<double>(got[i]) - want[i]));
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(want[i])));
  }
  EXPECT_LE(max_diff, tolerance * max_ref)
      << what << ": max diff " << max_diff << " of " << max_ref;
}

// A step over S sequences: sequence s has cached[s] keys already in the pool and num_new[s]
// new tokens. The pool holds random K/V in shuffled blocks, q is random; want is the scalar
// reference's output (empty unless with_reference) and args the device-side arguments
// (split_keys and tiled_min_queries left 0 for the test to set).
struct AttentionProblem {
  std::vector<float> q, want;
  CudaBuffer k_pool, v_pool, q_dev, query_start, context_len, block_table, token_seq;
  cuda::AttentionArgs args;
};

inline AttentionProblem MakeAttentionProblem(int32_t num_heads, int32_t num_kv_heads,
                                             int32_t head_dim, KvDtype dtype,
                                             const std::vector<int32_t>& cached,
                                             const std::vector<int32_t>& num_new,
                                             uint32_t seed, bool with_reference = true) {
  std::mt19937 rng(seed);
  const int32_t Hq = num_heads, Hkv = num_kv_heads, D = head_dim, bs = 16;
  const int32_t S = static_cast<int32_t>(cached.size());
  PagedAttentionArgs a;
  a.kv_dtype = dtype;
  a.block_size = bs;
  a.num_heads = Hq;
  a.num_kv_heads = Hkv;
  a.head_dim = D;
  a.scale = 1.f / std::sqrt(static_cast<float>(D));
  a.num_seqs = S;
  std::vector<int32_t> query_start(S + 1, 0), context_len(S), token_seq;
  int32_t max_context = 0, max_query_len = 0;
  for (int32_t s = 0; s < S; ++s) {
    query_start[s + 1] = query_start[s] + num_new[s];
    context_len[s] = cached[s] + num_new[s];
    max_context = std::max(max_context, context_len[s]);
    max_query_len = std::max(max_query_len, num_new[s]);
    token_seq.insert(token_seq.end(), num_new[s], s);
    a.max_blocks_per_seq = std::max(a.max_blocks_per_seq, (context_len[s] + bs - 1) / bs);
  }
  const int32_t T = query_start[S];
  const int32_t num_blocks = S * a.max_blocks_per_seq;
  std::vector<int32_t> table(num_blocks);
  std::iota(table.begin(), table.end(), 0);
  std::shuffle(table.begin(), table.end(), rng);
  const size_t pool_elems = static_cast<size_t>(num_blocks) * Hkv * bs * D;
  std::vector<uint8_t> k_pool(pool_elems * KvDtypeBytes(dtype)), v_pool(k_pool.size());
  {
    auto k = testing::RandomVector(pool_elems, rng), v = testing::RandomVector(pool_elems, rng);
    std::vector<int64_t> slots(pool_elems / (Hkv * D));
    std::iota(slots.begin(), slots.end(), 0);
    WriteKv(k.data(), v.data(), slots.data(), static_cast<int64_t>(slots.size()), a, k_pool.data(),
            v_pool.data());
  }
  AttentionProblem p;
  p.q = testing::RandomVector(static_cast<size_t>(T) * Hq * D, rng, 2.f);
  a.k_pool = k_pool.data();
  a.v_pool = v_pool.data();
  a.query_start = query_start.data();
  a.context_len = context_len.data();
  a.block_table = table.data();
  if (with_reference) {
    p.want.resize(p.q.size());
    reference::PagedAttention(p.q.data(), a, p.want.data());
  }

  p.k_pool = Upload(k_pool);
  p.v_pool = Upload(v_pool);
  p.q_dev = Upload(p.q);
  p.query_start = Upload(query_start);
  p.context_len = Upload(context_len);
  p.block_table = Upload(table);
  p.token_seq = Upload(token_seq);
  cuda::AttentionArgs& g = p.args;
  g.k_pool = p.k_pool.get();
  g.v_pool = p.v_pool.get();
  g.kv_dtype = dtype;
  g.block_size = bs;
  g.num_heads = Hq;
  g.num_kv_heads = Hkv;
  g.head_dim = D;
  g.scale = a.scale;
  g.query_start = p.query_start.get<int32_t>();
  g.context_len = p.context_len.get<int32_t>();
  g.block_table = p.block_table.get<int32_t>();
  g.max_blocks_per_seq = a.max_blocks_per_seq;
  g.token_seq = p.token_seq.get<int32_t>();
  g.num_tokens = T;
  g.num_seqs = S;
  g.max_context = max_context;
  g.max_query_len = max_query_len;
  return p;
}

// PagedAttention on the device for p (as its args say), downloaded as floats.
inline std::vector<float> RunAttention(const AttentionProblem& p, int num_sms) {
  CudaBuffer scratch =
      Poisoned(std::max<int64_t>(1, cuda::AttentionScratchFloats(p.args, num_sms)) * 4);
  CudaBuffer out = Poisoned(p.q.size() * 2);
  cuda::PagedAttention(p.q_dev.get<float>(), p.args, scratch.get<float>(), num_sms,
                       out.get<cuda::bf16>(), nullptr);
  return Bf16ToFloats(Download<uint16_t>(out, p.q.size()));
}

}  // namespace ts
