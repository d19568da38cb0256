// The CUDA backend's kernels, as host functions that enqueue work on a stream. Pointers are
// device pointers unless named host_*. Activations between matrix products are bf16 (the
// products' inputs); the residual stream, products' outputs and softmax math are float32.
//
// Every kernel has a test against the CPU kernels of the same name on random inputs of odd
// sizes (tests/kernels/cuda/).
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/kv_dtype.h"

namespace ts::cuda {

using bf16 = __nv_bfloat16;

// out[r] = bf16(rmsnorm(x[row]) * weight), row = rows ? rows[r] : r, for r < num_rows.
// When add is set (and rows is not), first x[r] += add[r] (the residual connection).
void AddRmsNorm(float* x, const float* add, const float* weight, const int32_t* rows,
                int64_t num_rows, int64_t dim, float eps, bf16* out, cudaStream_t stream);

// After the fused q/k/v product qkv [T][(Hq + 2 Hkv) * D] (float32): adds bias (optional,
// [(Hq + 2 Hkv) * D]), applies per-head RMSNorm to q and k (q_norm/k_norm optional, [D]),
// rotates q and k (rotate-half RoPE at positions[t]), writes q to q_out [T][Hq * D] and k, v
// into the KV pool at slot[t] (layout v1, kv_dtype).
struct QkvArgs {
  int32_t num_heads = 0, num_kv_heads = 0, head_dim = 0, block_size = 0;
  KvDtype kv_dtype = KvDtype::kBf16;
  float eps = 1e-6f;
  const float* bias = nullptr;
  const float* q_norm = nullptr;
  const float* k_norm = nullptr;
  const float* inv_freq = nullptr;  // [D / 2]
  const int32_t* positions = nullptr;
  const int64_t* slot = nullptr;
};
void QkvRopeWriteKv(const float* qkv, int64_t num_tokens, const QkvArgs& args, float* q_out,
                    void* k_pool, void* v_pool, cudaStream_t stream);

// Paged causal attention (kernels/attention.h's contract) with q float32 and out bf16, both
// [T][Hq][D]. token_seq[t] is the sequence of token t. Sequences with at least
// tiled_min_queries new tokens (prefill chunks) run on a tensor-core tiled kernel; the rest
// on CUDA cores, where long contexts are split across thread blocks (flash-decoding) when
// there are few (token, head) pairs; scratch must hold AttentionScratchFloats(...) floats.
struct AttentionArgs {
  const void* k_pool = nullptr;
  const void* v_pool = nullptr;
  KvDtype kv_dtype = KvDtype::kBf16;
  int32_t block_size = 0, num_heads = 0, num_kv_heads = 0, head_dim = 0;
  float scale = 1.f;
  const int32_t* query_start = nullptr;  // [S + 1]
  const int32_t* context_len = nullptr;  // [S]
  const int32_t* block_table = nullptr;  // [S][max_blocks_per_seq]
  int32_t max_blocks_per_seq = 0;
  const int32_t* token_seq = nullptr;  // [T]
  int64_t num_tokens = 0;
  int32_t num_seqs = 0;
  int32_t max_context = 0;    // the largest context_len (host-known): picks the split
  int32_t max_query_len = 0;  // the most new tokens of one sequence (host-known)
  // Sequences with at least this many new tokens go to the tiled kernel (0: none). Its
  // reduction order depends on the chunking, so --batch-invariant keeps it off.
  int32_t tiled_min_queries = 0;
  // 0: splits adapt to the batch (fill the GPU); > 0: every token's keys go in splits of
  // this many keys, so its result does not depend on the batch (--batch-invariant).
  int32_t split_keys = 0;
};
int64_t AttentionScratchFloats(const AttentionArgs& args, int num_sms);
// Thread blocks each (token, head) pair's keys are split over (1: no split).
int AttentionSplits(const AttentionArgs& args, int num_sms);
void PagedAttention(const float* q, const AttentionArgs& args, float* scratch, int num_sms,
                    bf16* out, cudaStream_t stream);
// Largest head_dim PagedAttention supports.
inline constexpr int32_t kMaxHeadDim = 256;

// MLX affine-quantized matrix W [N][K] on the device: packed q (8 or 4 bits, row-major,
// K * bits / 8 bytes a row) and float32 scales/biases [N][K / group_size].
struct QuantMatrix {
  const uint8_t* q = nullptr;
  const float* scales = nullptr;
  const float* biases = nullptr;
  int64_t rows = 0, cols = 0;
  int32_t bits = 4, group_size = 64;
};
// y[t][n] (row stride ldy) = sum_k x[t][k] * W[n][k] for t < num_tokens <= kMaxGemvTokens.
inline constexpr int64_t kMaxGemvTokens = 8;
void QuantGemv(const bf16* x, int64_t num_tokens, const QuantMatrix& w, float* y, int64_t ldy,
               cudaStream_t stream);
// The same for a plain bf16 W [rows][cols] (cols a multiple of 8): reads W once, where cuBLAS
// at one to a few tokens reaches less of the memory bandwidth.
void DenseGemv(const bf16* x, int64_t num_tokens, const bf16* w, int64_t rows, int64_t cols,
               float* y, int64_t ldy, cudaStream_t stream);
// out[n - row_begin][k] = W[n][k] as bf16, for rows [row_begin, row_end).
void Dequantize(const QuantMatrix& w, int64_t row_begin, int64_t row_end, bf16* out,
                cudaStream_t stream);
// out[r] = row tokens[r] of W (as float32), for quantized or bf16 W [V][H].
void EmbedQuant(const QuantMatrix& w, const int32_t* tokens, int64_t num_tokens, float* out,
                cudaStream_t stream);
void EmbedBf16(const bf16* w, int64_t dim, const int32_t* tokens, int64_t num_tokens, float* out,
               cudaStream_t stream);

// out[t][i] = bf16(silu(gu[t][i]) * gu[t][I + i]) for gu [T][2I].
void SiluMul(const float* gu, int64_t num_tokens, int64_t inter, bf16* out, cudaStream_t stream);
// The same from a bf16 gu (prefill: half the bytes through memory).
void SiluMul(const bf16* gu, int64_t num_tokens, int64_t inter, bf16* out, cudaStream_t stream);
// x[t][i] += bias[i]
void AddBias(float* x, const float* bias, int64_t num_rows, int64_t dim, int64_t ld,
             cudaStream_t stream);
// x[i] += y[i]
void AddInPlace(float* x, const float* y, int64_t n, cudaStream_t stream);

}  // namespace ts::cuda
