// Paged causal attention for decode tokens and short prefill chunks (sequences the tiled
// prefill kernel takes, tiled_min_queries, are skipped). A thread block computes one (token,
// group of q heads sharing a KV head, split); K and V rows are read once for the whole group,
// and its 4 warps merge at the end. Three kernels, by KV dtype and head_dim:
//  - TensorDecodeKernel (bf16 KV, head_dim 64/128): the group's heads are the rows of a
//    tensor-core tile, keys stream through shared memory (cp.async);
//  - RowAttentionKernel (f16/f32 KV, head_dim 64/128/256): the same streaming, math on CUDA
//    cores with a row's elements spread over lanes;
//  - AttentionKernel (any other head_dim): lane-per-key scores from global memory.
// With several splits (few blocks, long contexts) each split writes its partial (max, sum,
// unnormalized output) per head and a second kernel merges them in split order.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/cuda_util.cuh"
#include "kernels/cuda/mma_util.cuh"
#include "kernels/cuda/prefill_attention.h"

namespace ts::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kChunk = 32;  // keys per warp step: one per lane
constexpr int kMinSplitKeys = 128;

// The lane's kPerLane elements of a row, as floats (zeros past D): one vector load when the
// row allows it.
template <typename KvT, int kPerLane>
__device__ __forceinline__ void LoadLane(const KvT* row, int lane, int D, float (&out)[kPerLane]) {
  const int d0 = lane * kPerLane;
  if (D % kPerLane == 0 && d0 + kPerLane <= D) {
    const Vec<KvT, kPerLane> v = *reinterpret_cast<const Vec<KvT, kPerLane>*>(row + d0);
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) out[e] = ToFloat(v.v[e]);
  } else {
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) out[e] = d0 + e < D ? ToFloat(row[d0 + e]) : 0.f;
  }
}

// Whether token t's sequence goes to the tiled kernel (tiled_min: 0 when that does not run).
__device__ __forceinline__ bool Tiled(const AttentionArgs& a, int tiled_min, int64_t t) {
  const int s = a.token_seq[t];
  return tiled_min > 0 && a.query_start[s + 1] - a.query_start[s] >= tiled_min;
}

__device__ __forceinline__ float WarpMax(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// The end of a decode kernel: each warp left its (max, sum, unnormalized output) per head in
// shared memory; combine them and write the normalized output, or with several splits this
// split's partial record (max, sum, output) for MergeSplitsKernel.
template <int kGroup, int kMaxD>
__device__ void MergeWarps(const float (&sm_m)[kWarps][kGroup], const float (&sm_l)[kWarps][kGroup],
                           const float (&sm_acc)[kWarps][kGroup][kMaxD], int64_t first_head, int D,
                           int split, int num_splits, float* scratch, bf16* out) {
  for (int g = 0; g < kGroup; ++g) {
    float mx = -INFINITY;
    for (int w = 0; w < kWarps; ++w) mx = fmaxf(mx, sm_m[w][g]);
    float weight[kWarps], total = 0.f;
    for (int w = 0; w < kWarps; ++w) {
      weight[w] = sm_m[w][g] == -INFINITY ? 0.f : __expf(sm_m[w][g] - mx);
      total += sm_l[w][g] * weight[w];
    }
    const int64_t head_index = first_head + g;
    if (num_splits == 1) {
      for (int d = threadIdx.x; d < D; d += blockDim.x) {
        float o = 0.f;
        for (int w = 0; w < kWarps; ++w) o += sm_acc[w][g][d] * weight[w];
        out[head_index * D + d] = __float2bfloat16_rn(o / total);
      }
      continue;
    }
    float* rec = scratch + (head_index * num_splits + split) * (D + 2);
    if (threadIdx.x == 0) {
      rec[0] = mx;
      rec[1] = total;
    }
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
      float o = 0.f;
      for (int w = 0; w < kWarps; ++w) o += sm_acc[w][g][d] * weight[w];
      rec[2 + d] = o;
    }
  }
}

// The keys [key_begin, key_end) of token t for its kernel's block (a split of them).
struct KeyRange {
  int seq, begin, end;
};
__device__ __forceinline__ KeyRange TokenKeys(const AttentionArgs& a, int64_t t, int split,
                                              int num_splits) {
  const int s = a.token_seq[t];
  const int n = a.query_start[s + 1] - a.query_start[s];
  const int i = static_cast<int>(t - a.query_start[s]);
  const int visible = a.context_len[s] - n + i + 1;  // keys 0..visible-1
  // The token's keys in num_splits near-equal parts, or in parts of split_keys.
  const int per_split = a.split_keys > 0 ? a.split_keys : (visible + num_splits - 1) / num_splits;
  const int begin = split * per_split;
  return {s, begin, min(visible, begin + per_split)};
}

// Row of key j of a sequence (its block table `blocks`) and kv head kvh in the pool.
__device__ __forceinline__ int64_t KvRow(const AttentionArgs& a, const int32_t* blocks, int kvh,
                                         int j) {
  return (static_cast<int64_t>(blocks[j / a.block_size]) * a.num_kv_heads + kvh) * a.block_size +
         j % a.block_size;
}

// Any head_dim: 4 warps take chunks of 32 keys in turn; for QK each lane owns one key (a whole
// row, no cross-lane reduction per key), the chunk's scores update a per-head online softmax,
// and for PV each lane owns kPerLane contiguous output elements while the chunk's
// probabilities are broadcast.
template <typename KvT, int kPerLane, int kGroup>
__global__ void __launch_bounds__(kWarps * 32)
    AttentionKernel(const float* q, AttentionArgs a, int tiled_min, int num_splits, float* scratch,
                    bf16* out) {
  const int h0 = blockIdx.x * kGroup, split = blockIdx.z;
  const int64_t t = blockIdx.y;
  if (Tiled(a, tiled_min, t)) return;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int D = a.head_dim;
  const KeyRange keys_of = TokenKeys(a, t, split, num_splits);
  const int s = keys_of.seq, key_begin = keys_of.begin, key_end = keys_of.end;
  const int kvh = h0 / (a.num_heads / a.num_kv_heads);
  const KvT* k_pool = static_cast<const KvT*>(a.k_pool);
  const KvT* v_pool = static_cast<const KvT*>(a.v_pool);
  const int32_t* blocks = a.block_table + static_cast<int64_t>(s) * a.max_blocks_per_seq;

  __shared__ __align__(16) float q_s[kGroup][kPerLane * 32];
  for (int x = threadIdx.x; x < kGroup * D; x += blockDim.x) {
    q_s[x / D][x % D] = q[(t * a.num_heads + h0) * D + x] * a.scale;
  }
  __syncthreads();

  float acc[kGroup][kPerLane], m[kGroup], l[kGroup];
#pragma unroll
  for (int g = 0; g < kGroup; ++g) {
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) acc[g][e] = 0.f;
    m[g] = -INFINITY;
    l[g] = 0.f;
  }
  for (int c0 = key_begin + warp * kChunk; c0 < key_end; c0 += kWarps * kChunk) {
    const int j = c0 + lane;
    const bool valid = j < key_end;
    int64_t row = 0;
    float score[kGroup];
#pragma unroll
    for (int g = 0; g < kGroup; ++g) score[g] = 0.f;
    if (valid) {
      row = KvRow(a, blocks, kvh, j);
      const KvT* krow = k_pool + row * D;
      constexpr int kStep = 16 / sizeof(KvT);  // elements per 16-byte load
      if (D % kStep == 0) {
        for (int d = 0; d < D; d += kStep) {
          const Vec<KvT, kStep> kv = *reinterpret_cast<const Vec<KvT, kStep>*>(krow + d);
#pragma unroll
          for (int g = 0; g < kGroup; ++g) {
#pragma unroll
            for (int e = 0; e < kStep; e += 4) {  // q four at a time (one shared load)
              const float4 qv = *reinterpret_cast<const float4*>(&q_s[g][d + e]);
              score[g] += qv.x * ToFloat(kv.v[e]) + qv.y * ToFloat(kv.v[e + 1]) +
                          qv.z * ToFloat(kv.v[e + 2]) + qv.w * ToFloat(kv.v[e + 3]);
            }
          }
        }
      } else {
        for (int d = 0; d < D; ++d) {
          const float kf = ToFloat(krow[d]);
#pragma unroll
          for (int g = 0; g < kGroup; ++g) score[g] += q_s[g][d] * kf;
        }
      }
    }
    float p[kGroup];
#pragma unroll
    for (int g = 0; g < kGroup; ++g) {
      const float chunk_max = WarpMax(valid ? score[g] : -INFINITY);
      const float m_new = fmaxf(m[g], chunk_max);
      const float correction = __expf(m[g] - m_new);
      p[g] = valid ? __expf(score[g] - m_new) : 0.f;
      l[g] = l[g] * correction + WarpSum(p[g]);
#pragma unroll
      for (int e = 0; e < kPerLane; ++e) acc[g][e] *= correction;
      m[g] = m_new;
    }
    const int keys = min(kChunk, key_end - c0);
#pragma unroll 4
    for (int k = 0; k < keys; ++k) {
      const int64_t row_k = __shfl_sync(0xffffffffu, row, k);
      float vf[kPerLane];
      LoadLane<KvT, kPerLane>(v_pool + row_k * D, lane, D, vf);
#pragma unroll
      for (int g = 0; g < kGroup; ++g) {
        const float pk = __shfl_sync(0xffffffffu, p[g], k);
#pragma unroll
        for (int e = 0; e < kPerLane; ++e) acc[g][e] += pk * vf[e];
      }
    }
  }

  // Merge the warps, head by head.
  __shared__ float sm_m[kWarps][kGroup], sm_l[kWarps][kGroup];
  __shared__ float sm_acc[kWarps][kGroup][kPerLane * 32];
#pragma unroll
  for (int g = 0; g < kGroup; ++g) {
    if (lane == 0) {
      sm_m[warp][g] = m[g];
      sm_l[warp][g] = l[g];
    }
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) sm_acc[warp][g][lane * kPerLane + e] = acc[g][e];
  }
  __syncthreads();
  MergeWarps<kGroup, kPerLane * 32>(sm_m, sm_l, sm_acc, t * a.num_heads + h0, D, split, num_splits,
                                    scratch, out);
}

// Decode attention for head_dim kD, rows read across lanes: kRowLanes lanes hold one K or V row
// (kVec elements each, one 16-byte piece), so a warp reads kRows whole rows at once. The
// thread block streams its keys through shared memory in chunks of kChunkKeys, kStages chunks
// in flight (cp.async): the loads do not wait on registers or on the math, where
// AttentionKernel's lane-per-key loads touch 32 rows per instruction and wait on L1. Each warp
// takes kWarpKeys keys of a chunk: dot products reduced over a row's lanes, one online-softmax
// update per head for its keys, then the values; each lane keeps kVec output elements per
// head, and the warps merge at the end.
template <typename KvT, int kGroup, int kD>
struct RowAttentionShape {
  static constexpr int kVec = 16 / sizeof(KvT);
  static constexpr int kRowLanes = kD / kVec;
  static_assert(kRowLanes <= 32 && 32 % kRowLanes == 0, "a row must fit a warp evenly");
  static constexpr int kRows = 32 / kRowLanes;
  static constexpr int kLoads = 4;  // rows per lane and chunk
  static constexpr int kWarpKeys = kRows * kLoads;
  static constexpr int kChunkKeys = kWarps * kWarpKeys;
  static constexpr int kChunkPieces = kChunkKeys * kRowLanes;  // of K, and as many of V
  static constexpr int kStages = 3;
  static constexpr int kSmemBytes = kStages * 2 * kChunkPieces * 16;
  static_assert(kWarps * kGroup * (kD + 2) * 4 <= kSmemBytes, "the merge reuses the stages");
};

template <typename KvT, int kGroup, int kD>
__global__ void __launch_bounds__(kWarps * 32)
    RowAttentionKernel(const float* q, AttentionArgs a, int tiled_min, int num_splits,
                       float* scratch, bf16* out) {
  using Shape = RowAttentionShape<KvT, kGroup, kD>;
  constexpr int kVec = Shape::kVec, kRowLanes = Shape::kRowLanes, kRows = Shape::kRows;
  constexpr int kLoads = Shape::kLoads, kChunkKeys = Shape::kChunkKeys;
  constexpr int kChunkPieces = Shape::kChunkPieces, kStages = Shape::kStages;
  using Piece = Vec<KvT, kVec>;
  extern __shared__ __align__(16) uint8_t smem[];  // kStages x (K pieces, V pieces)
  Piece* const stages = reinterpret_cast<Piece*>(smem);

  const int h0 = blockIdx.x * kGroup, split = blockIdx.z;
  const int64_t t = blockIdx.y;
  if (Tiled(a, tiled_min, t)) return;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int sub = lane / kRowLanes;   // which row of a warp read is the lane's
  const int part = lane % kRowLanes;  // which piece of it
  const KeyRange r = TokenKeys(a, t, split, num_splits);
  const int kvh = h0 / (a.num_heads / a.num_kv_heads);
  const KvT* k_pool = static_cast<const KvT*>(a.k_pool);
  const KvT* v_pool = static_cast<const KvT*>(a.v_pool);
  const int32_t* blocks = a.block_table + static_cast<int64_t>(r.seq) * a.max_blocks_per_seq;
  const int chunks = max(0, (r.end - r.begin + kChunkKeys - 1) / kChunkKeys);

  // Starts the copy of chunk c into its stage (one commit group, empty past the last chunk).
  auto fetch = [&](int c) {
    if (c < chunks) {
      Piece* k_dst = stages + (c % kStages) * 2 * kChunkPieces;
      Piece* v_dst = k_dst + kChunkPieces;
#pragma unroll
      for (int i = 0; i < kChunkPieces / (kWarps * 32); ++i) {
        const int piece = threadIdx.x + i * kWarps * 32;
        const int j = r.begin + c * kChunkKeys + piece / kRowLanes;
        const bool valid = j < r.end;
        const int64_t at = valid ? KvRow(a, blocks, kvh, j) * kD + (piece % kRowLanes) * kVec : 0;
        CopyAsync16(k_dst + piece, k_pool + at, valid);
        CopyAsync16(v_dst + piece, v_pool + at, valid);
      }
    }
    CommitCopies();
  };
#pragma unroll
  for (int c = 0; c < kStages - 1; ++c) fetch(c);

  float qr[kGroup][kVec], acc[kGroup][kVec], m[kGroup], l[kGroup];
#pragma unroll
  for (int g = 0; g < kGroup; ++g) {
    const float* qg = q + (t * a.num_heads + h0 + g) * kD + part * kVec;
#pragma unroll
    for (int e = 0; e < kVec; e += 4) {
      const float4 v = *reinterpret_cast<const float4*>(qg + e);
      qr[g][e] = v.x * a.scale;
      qr[g][e + 1] = v.y * a.scale;
      qr[g][e + 2] = v.z * a.scale;
      qr[g][e + 3] = v.w * a.scale;
    }
#pragma unroll
    for (int e = 0; e < kVec; ++e) acc[g][e] = 0.f;
    m[g] = -INFINITY;
    l[g] = 0.f;
  }
  for (int c = 0; c < chunks; ++c) {
    WaitCopies<kStages - 2>();
    __syncthreads();  // chunk c is in; every warp is done with the stage fetched into next
    fetch(c + kStages - 1);
    const int first = r.begin + c * kChunkKeys + warp * Shape::kWarpKeys;  // the warp's keys
    if (first >= r.end) continue;
    const Piece* k_src = stages + (c % kStages) * 2 * kChunkPieces;
    const Piece* v_src = k_src + kChunkPieces;
    float p[kGroup][kLoads];
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      const int kk = warp * Shape::kWarpKeys + i * kRows + sub;  // key within the chunk
      const bool valid = first + i * kRows + sub < r.end;
      const Piece kv = k_src[kk * kRowLanes + part];
#pragma unroll
      for (int g = 0; g < kGroup; ++g) {
        float dot = 0.f;
#pragma unroll
        for (int e = 0; e < kVec; ++e) dot += qr[g][e] * ToFloat(kv.v[e]);
#pragma unroll
        for (int o = kRowLanes / 2; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
        p[g][i] = valid ? dot : -INFINITY;
      }
    }
#pragma unroll
    for (int g = 0; g < kGroup; ++g) {
      float step_max = p[g][0];
#pragma unroll
      for (int i = 1; i < kLoads; ++i) step_max = fmaxf(step_max, p[g][i]);
#pragma unroll
      for (int o = 16; o >= kRowLanes; o >>= 1) {
        step_max = fmaxf(step_max, __shfl_xor_sync(0xffffffffu, step_max, o));
      }
      const float m_new = fmaxf(m[g], step_max);  // finite: the warp's first key is valid
      const float correction = __expf(m[g] - m_new);
      float sum = 0.f;
#pragma unroll
      for (int i = 0; i < kLoads; ++i) {
        p[g][i] = __expf(p[g][i] - m_new);  // 0 for the keys past the end (-inf)
        sum += p[g][i];
      }
#pragma unroll
      for (int o = 16; o >= kRowLanes; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
      l[g] = l[g] * correction + sum;
      m[g] = m_new;
#pragma unroll
      for (int e = 0; e < kVec; ++e) acc[g][e] *= correction;
    }
#pragma unroll
    for (int i = 0; i < kLoads; ++i) {
      const int kk = warp * Shape::kWarpKeys + i * kRows + sub;
      const Piece vv = v_src[kk * kRowLanes + part];  // zeros past the end
#pragma unroll
      for (int g = 0; g < kGroup; ++g) {
#pragma unroll
        for (int e = 0; e < kVec; ++e) acc[g][e] += p[g][i] * ToFloat(vv.v[e]);
      }
    }
  }
  // The lanes holding the same elements of different rows add up.
#pragma unroll
  for (int g = 0; g < kGroup; ++g) {
#pragma unroll
    for (int e = 0; e < kVec; ++e) {
#pragma unroll
      for (int o = 16; o >= kRowLanes; o >>= 1) {
        acc[g][e] += __shfl_xor_sync(0xffffffffu, acc[g][e], o);
      }
    }
  }
  WaitCopies<0>();
  __syncthreads();  // the stages are free: the merge's buffers go there
  auto& sm_acc = *reinterpret_cast<float(*)[kWarps][kGroup][kD]>(smem);
  auto& sm_m = *reinterpret_cast<float(*)[kWarps][kGroup]>(smem + sizeof(sm_acc));
  auto& sm_l = *reinterpret_cast<float(*)[kWarps][kGroup]>(smem + sizeof(sm_acc) + sizeof(sm_m));
#pragma unroll
  for (int g = 0; g < kGroup; ++g) {
    if (lane == 0) {
      sm_m[warp][g] = m[g];
      sm_l[warp][g] = l[g];
    }
    if (sub == 0) {
#pragma unroll
      for (int e = 0; e < kVec; ++e) sm_acc[warp][g][part * kVec + e] = acc[g][e];
    }
  }
  __syncthreads();
  MergeWarps<kGroup, kD>(sm_m, sm_l, sm_acc, t * a.num_heads + h0, a.head_dim, split, num_splits,
                         scratch, out);
}

// Decode attention on tensor cores (bf16 KV, head_dim 64 or 128): the kGroup q heads that share
// a KV head are the rows of one 16-row mma tile (the rest zero), so S = Q K^T and O += P V are
// bf16 mma.sync m16n8k16 with float32 accumulators, a few instructions per key where the
// CUDA-core kernels spend several per key and element. As in the tiled prefill kernel, q is
// rounded to bf16 (with the scale and log2 e folded in) and so are the probabilities. The
// keys stream through shared memory in chunks of 64, kStages in flight (cp.async); each warp
// takes 16 keys of a chunk and keeps its own online softmax, and the warps merge at the end.
template <int kD>
struct TensorDecodeShape {
  static constexpr int kPad = 8;  // row padding (elements): ldmatrix rows hit distinct banks
  static constexpr int kWarpKeys = 16;
  static constexpr int kChunkKeys = kWarps * kWarpKeys;
  static constexpr int kStages = 3;
  static constexpr int kStageElems = 2 * kChunkKeys * (kD + kPad);  // K rows, then V rows
  static constexpr int kSmemBytes = kStages * kStageElems * 2;
};

template <int kGroup, int kD>
__global__ void __launch_bounds__(kWarps * 32)
    TensorDecodeKernel(const float* q, AttentionArgs a, int tiled_min, int num_splits,
                       float* scratch, bf16* out) {
  static_assert(kGroup <= 8, "the group's heads are rows 0..7 of the mma tile");
  using Shape = TensorDecodeShape<kD>;
  constexpr int kRow = kD + Shape::kPad, kChunkKeys = Shape::kChunkKeys;
  constexpr int kStages = Shape::kStages, kStageElems = Shape::kStageElems;
  extern __shared__ __align__(16) uint8_t smem[];
  bf16* const stages = reinterpret_cast<bf16*>(smem);

  const int h0 = blockIdx.x * kGroup, split = blockIdx.z;
  const int64_t t = blockIdx.y;
  if (Tiled(a, tiled_min, t)) return;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int g = lane / 4, tq = lane % 4;  // mma fragment coordinates: row g (and g + 8)
  const KeyRange r = TokenKeys(a, t, split, num_splits);
  const int kvh = h0 / (a.num_heads / a.num_kv_heads);
  const bf16* k_pool = static_cast<const bf16*>(a.k_pool);
  const bf16* v_pool = static_cast<const bf16*>(a.v_pool);
  const int32_t* blocks = a.block_table + static_cast<int64_t>(r.seq) * a.max_blocks_per_seq;
  const int chunks = max(0, (r.end - r.begin + kChunkKeys - 1) / kChunkKeys);

  // Each thread copies kCopies 16-byte pieces of K and of V a chunk. Their pool offsets (-1:
  // past the end) are looked up one chunk ahead, so that the block-table reads are in flight
  // during the math rather than in front of the copies.
  constexpr int kCopies = kChunkKeys * kD / 8 / (kWarps * 32);
  int64_t at[kCopies];
  auto locate = [&](int c) {
#pragma unroll
    for (int i = 0; i < kCopies; ++i) {
      const int piece = threadIdx.x + i * kWarps * 32;
      const int j = r.begin + c * kChunkKeys + piece / (kD / 8);
      at[i] = c < chunks && j < r.end ? KvRow(a, blocks, kvh, j) * kD + (piece % (kD / 8)) * 8 : -1;
    }
  };
  auto fetch = [&](int c) {
    if (c < chunks) {
      bf16* k_dst = stages + (c % kStages) * kStageElems;
      bf16* v_dst = k_dst + kChunkKeys * kRow;
#pragma unroll
      for (int i = 0; i < kCopies; ++i) {
        const int piece = threadIdx.x + i * kWarps * 32;
        const int dst = piece / (kD / 8) * kRow + (piece % (kD / 8)) * 8;
        CopyAsync16(k_dst + dst, k_pool + max(at[i], int64_t{0}), at[i] >= 0);
        CopyAsync16(v_dst + dst, v_pool + max(at[i], int64_t{0}), at[i] >= 0);
      }
    }
    CommitCopies();
    locate(c + 1);
  };
  locate(0);
#pragma unroll
  for (int c = 0; c < kStages - 1; ++c) fetch(c);

  // A fragments of q (rows g < kGroup; rows g + 8 are zero): elements 2tq, 2tq + 1 and
  // 2tq + 8, 2tq + 9 of each 16-element k-step.
  constexpr float kLog2e = 1.4426950408889634f;
  uint32_t qa[kD / 16][2];
#pragma unroll
  for (int ks = 0; ks < kD / 16; ++ks) {
    qa[ks][0] = qa[ks][1] = 0;
    if (g < kGroup) {
      const float* row = q + (t * a.num_heads + h0 + g) * kD + ks * 16 + 2 * tq;
      const float sc = a.scale * kLog2e;
      qa[ks][0] = PackBf16(row[0] * sc, row[1] * sc);
      qa[ks][1] = PackBf16(row[8] * sc, row[9] * sc);
    }
  }
  float o[kD / 8][4] = {}, m = -INFINITY, l = 0.f;  // row g (rows g + 8 are padding)
  for (int c = 0; c < chunks; ++c) {
    WaitCopies<kStages - 2>();
    __syncthreads();  // chunk c is in; every warp is done with the stage fetched into next
    fetch(c + kStages - 1);
    const int first = r.begin + c * kChunkKeys + warp * Shape::kWarpKeys;  // the warp's keys
    if (first >= r.end) continue;
    const bf16* k_src = stages + (c % kStages) * kStageElems + warp * Shape::kWarpKeys * kRow;
    const bf16* v_src = k_src + kChunkKeys * kRow;
    // S: two 8-key column tiles.
    float sc[2][4] = {};
#pragma unroll
    for (int ks = 0; ks < kD / 16; ++ks) {
      uint32_t b[4];
      LoadMatrixX4(b, k_src + ((lane / 16) * 8 + lane % 8) * kRow + ks * 16 + (lane / 8) % 2 * 8);
      const uint32_t a4[4] = {qa[ks][0], 0u, qa[ks][1], 0u};
      Mma(sc[0], a4, b[0], b[1]);
      Mma(sc[1], a4, b[2], b[3]);
    }
#pragma unroll
    for (int nt = 0; nt < 2; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        if (first + nt * 8 + 2 * tq + (e & 1) >= r.end) sc[nt][e] = -INFINITY;
      }
    }
    // Online softmax of row g over the warp's 16 keys (a row's 4 threads form a quad).
    float mx = fmaxf(fmaxf(sc[0][0], sc[0][1]), fmaxf(sc[1][0], sc[1][1]));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    mx = fmaxf(m, mx);  // finite: the warp's first key is valid
    const float corr = Exp2(m - mx);
    m = mx;
    l *= corr;
#pragma unroll
    for (int nt = 0; nt < 2; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        sc[nt][e] = e < 2 ? Exp2(sc[nt][e] - mx) : 0.f;  // padding rows: 0
        l += sc[nt][e];
      }
    }
#pragma unroll
    for (int dn = 0; dn < kD / 8; ++dn) {
      o[dn][0] *= corr;
      o[dn][1] *= corr;
    }
    // O += P V: the two S tiles are the A fragment of the warp's 16 keys.
    const uint32_t pa[4] = {PackBf16(sc[0][0], sc[0][1]), PackBf16(sc[0][2], sc[0][3]),
                            PackBf16(sc[1][0], sc[1][1]), PackBf16(sc[1][2], sc[1][3])};
#pragma unroll
    for (int dp = 0; dp < kD / 16; ++dp) {
      uint32_t b[4];
      LoadMatrixX4Trans(b, v_src + (lane % 16) * kRow + dp * 16 + (lane / 16) * 8);
      Mma(o[2 * dp], pa, b[0], b[1]);
      Mma(o[2 * dp + 1], pa, b[2], b[3]);
    }
  }
  l += __shfl_xor_sync(0xffffffffu, l, 1);
  l += __shfl_xor_sync(0xffffffffu, l, 2);
  WaitCopies<0>();
  __syncthreads();  // the stages are free: the merge's buffers go there
  auto& sm_acc = *reinterpret_cast<float(*)[kWarps][kGroup][kD]>(smem);
  auto& sm_m = *reinterpret_cast<float(*)[kWarps][kGroup]>(smem + sizeof(sm_acc));
  auto& sm_l = *reinterpret_cast<float(*)[kWarps][kGroup]>(smem + sizeof(sm_acc) + sizeof(sm_m));
  if (g < kGroup) {
    if (tq == 0) {
      // Back to base e for MergeWarps and the split records: exp2(s - m) = exp(s ln2 - m ln2).
      sm_m[warp][g] = m * 0.6931471805599453f;
      sm_l[warp][g] = l;
    }
#pragma unroll
    for (int dn = 0; dn < kD / 8; ++dn) {
      sm_acc[warp][g][dn * 8 + 2 * tq] = o[dn][0];
      sm_acc[warp][g][dn * 8 + 2 * tq + 1] = o[dn][1];
    }
  }
  __syncthreads();
  MergeWarps<kGroup, kD>(sm_m, sm_l, sm_acc, t * a.num_heads + h0, a.head_dim, split, num_splits,
                         scratch, out);
}

__global__ void MergeSplitsKernel(const float* scratch, AttentionArgs a, int tiled_min,
                                  int num_splits, bf16* out) {
  const int64_t head_index = blockIdx.x;
  if (Tiled(a, tiled_min, head_index / a.num_heads)) return;
  const int D = a.head_dim;
  const float* recs = scratch + head_index * num_splits * (D + 2);
  float mx = -INFINITY;
  for (int p = 0; p < num_splits; ++p) mx = fmaxf(mx, recs[p * (D + 2)]);
  float total = 0.f;
  for (int p = 0; p < num_splits; ++p) {
    const float m = recs[p * (D + 2)];
    if (m != -INFINITY) total += recs[p * (D + 2) + 1] * __expf(m - mx);
  }
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float o = 0.f;
    for (int p = 0; p < num_splits; ++p) {
      const float m = recs[p * (D + 2)];
      if (m != -INFINITY) o += recs[p * (D + 2) + 2 + d] * __expf(m - mx);
    }
    out[head_index * D + d] = __float2bfloat16_rn(o / total);
  }
}

// Q heads per thread block: the largest of 8, 4, 2, 1 that divides the GQA ratio.
int GroupSize(const AttentionArgs& a) {
  const int ratio = a.num_heads / a.num_kv_heads;
  for (int g : {8, 4, 2}) {
    if (ratio % g == 0) return g;
  }
  return 1;
}

// Splits when the (token, head group) blocks alone leave the GPU idle: enough splits for
// about two blocks per multiprocessor, with at least kMinSplitKeys keys each.
int NumSplits(const AttentionArgs& a, int num_sms) {
  if (a.split_keys > 0) return std::max(1, (a.max_context + a.split_keys - 1) / a.split_keys);
  const int64_t blocks = a.num_tokens * (a.num_heads / GroupSize(a));
  if (blocks >= num_sms) return 1;
  const int64_t wanted = (2ll * num_sms + blocks - 1) / blocks;
  const int64_t useful = (a.max_context + kMinSplitKeys - 1) / kMinSplitKeys;
  return static_cast<int>(std::max<int64_t>(1, std::min(wanted, useful)));
}

// Calls f with the GQA group size as a compile-time constant.
template <typename F>
void DispatchGroup(int group, F&& f) {
  switch (group) {
    case 8:
      return f(std::integral_constant<int, 8>{});
    case 4:
      return f(std::integral_constant<int, 4>{});
    case 2:
      return f(std::integral_constant<int, 2>{});
    default:
      return f(std::integral_constant<int, 1>{});
  }
}

// Whether RowAttentionKernel takes this head_dim: a row is one 16-byte load on each of a
// power-of-two number of lanes (at most the warp).
template <typename KvT>
bool RowKernelFits(int head_dim) {
  constexpr int kVec = 16 / sizeof(KvT);
  return (head_dim == 64 || head_dim == 128 || head_dim == 256) && head_dim / kVec <= 32;
}

template <int kGroup, int kD>
void LaunchTensorDecode(dim3 grid, const float* q, const AttentionArgs& a, int tiled_min,
                        int num_splits, float* scratch, bf16* out, cudaStream_t stream) {
  constexpr int kSmem = TensorDecodeShape<kD>::kSmemBytes;
  static const cudaError_t raised = cudaFuncSetAttribute(
      TensorDecodeKernel<kGroup, kD>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
  CUDA_CHECK(raised);
  TensorDecodeKernel<kGroup, kD>
      <<<grid, kWarps * 32, kSmem, stream>>>(q, a, tiled_min, num_splits, scratch, out);
}

template <typename KvT>
void Launch(const float* q, const AttentionArgs& a, int tiled_min, int num_splits, float* scratch,
            bf16* out, cudaStream_t stream) {
  const int group = GroupSize(a);
  const dim3 grid(static_cast<unsigned>(a.num_heads / group), static_cast<unsigned>(a.num_tokens),
                  static_cast<unsigned>(num_splits));
  constexpr unsigned kThreads = kWarps * 32;
  DispatchGroup(group, [&](auto group_constant) {
    constexpr int kGroup = decltype(group_constant)::value;
    if (std::is_same_v<KvT, bf16> && (a.head_dim == 64 || a.head_dim == 128)) {
      if (a.head_dim == 64) {
        LaunchTensorDecode<kGroup, 64>(grid, q, a, tiled_min, num_splits, scratch, out, stream);
      } else {
        LaunchTensorDecode<kGroup, 128>(grid, q, a, tiled_min, num_splits, scratch, out, stream);
      }
    } else if (RowKernelFits<KvT>(a.head_dim)) {
      constexpr int kWide = sizeof(KvT) == 2 ? 256 : 128;  // f32 rows of 256 do not fit
      auto launch = [&](auto kernel, int smem_bytes) {
        kernel<<<grid, kThreads, smem_bytes, stream>>>(q, a, tiled_min, num_splits, scratch, out);
      };
      if (a.head_dim == 64) {
        launch(RowAttentionKernel<KvT, kGroup, 64>, RowAttentionShape<KvT, kGroup, 64>::kSmemBytes);
      } else if (a.head_dim == 128) {
        launch(RowAttentionKernel<KvT, kGroup, 128>,
               RowAttentionShape<KvT, kGroup, 128>::kSmemBytes);
      } else {
        launch(RowAttentionKernel<KvT, kGroup, kWide>,
               RowAttentionShape<KvT, kGroup, kWide>::kSmemBytes);
      }
    } else if (a.head_dim <= 64) {
      AttentionKernel<KvT, 2, kGroup>
          <<<grid, kThreads, 0, stream>>>(q, a, tiled_min, num_splits, scratch, out);
    } else if (a.head_dim <= 128) {
      AttentionKernel<KvT, 4, kGroup>
          <<<grid, kThreads, 0, stream>>>(q, a, tiled_min, num_splits, scratch, out);
    } else {
      AttentionKernel<KvT, 8, kGroup>
          <<<grid, kThreads, 0, stream>>>(q, a, tiled_min, num_splits, scratch, out);
    }
  });
}

}  // namespace

int AttentionSplits(const AttentionArgs& a, int num_sms) { return NumSplits(a, num_sms); }

int64_t AttentionScratchFloats(const AttentionArgs& a, int num_sms) {
  const int splits = NumSplits(a, num_sms);
  return splits == 1 ? 0 : a.num_tokens * a.num_heads * splits * (a.head_dim + 2);
}

void PagedAttention(const float* q, const AttentionArgs& a, float* scratch, int num_sms, bf16* out,
                    cudaStream_t stream) {
  if (a.num_tokens == 0) return;
  const int splits = NumSplits(a, num_sms);
  const int tiled_min = TiledPrefillApplies(a) ? a.tiled_min_queries : 0;
  if (tiled_min > 0) TiledPrefillAttention(q, a, num_sms, out, stream);
  if (tiled_min > 0 && a.num_seqs == 1) return;  // its one sequence was the tiled kernel's
  DispatchKv(a.kv_dtype, [&](auto type) {
    Launch<decltype(type)>(q, a, tiled_min, splits, scratch, out, stream);
  });
  if (splits > 1) {
    MergeSplitsKernel<<<static_cast<unsigned>(a.num_tokens * a.num_heads), 128, 0, stream>>>(
        scratch, a, tiled_min, splits, out);
  }
}

}  // namespace ts::cuda
