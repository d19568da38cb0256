// Paged causal attention. A thread block computes one (token, q head, split): its 4 warps
// take the split's keys in turn, each keeping an online softmax over its keys with the
// head's vector spread over the lanes (kPerLane elements each), and the warps merge at the
// end. With several splits (long contexts, few tokens) each split writes its partial
// (max, sum, unnormalized output) and a second kernel merges them in split order.
#include <algorithm>
#include <cmath>

#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/cuda_util.cuh"

namespace ts::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kSplitKeys = 512;  // keys per split when splitting

struct Partial {  // layout of one split's record in scratch: m, l, then D values
  static __device__ __forceinline__ float* At(float* scratch, int64_t index, int D) {
    return scratch + index * (D + 2);
  }
};

template <typename KvT, int kPerLane>
__global__ void __launch_bounds__(kWarps * 32)
    AttentionKernel(const float* q, AttentionArgs a, int num_splits, float* scratch, bf16* out) {
  const int h = blockIdx.x, split = blockIdx.z;
  const int64_t t = blockIdx.y;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int D = a.head_dim;
  const int s = a.token_seq[t];
  const int n = a.query_start[s + 1] - a.query_start[s];
  const int i = static_cast<int>(t - a.query_start[s]);
  const int visible = a.context_len[s] - n + i + 1;  // keys 0..visible-1
  const int per_split = num_splits == 1 ? visible : kSplitKeys;
  const int key_begin = split * per_split;
  const int key_end = min(visible, key_begin + per_split);
  const int kvh = h / (a.num_heads / a.num_kv_heads);
  const KvT* k_pool = static_cast<const KvT*>(a.k_pool);
  const KvT* v_pool = static_cast<const KvT*>(a.v_pool);
  const int32_t* blocks = a.block_table + static_cast<int64_t>(s) * a.max_blocks_per_seq;

  // Lane holds elements lane * kPerLane + e (contiguous: coalesced row reads).
  float qv[kPerLane], acc[kPerLane];
  const float* qrow = q + (t * a.num_heads + h) * D;
#pragma unroll
  for (int e = 0; e < kPerLane; ++e) {
    const int d = lane * kPerLane + e;
    qv[e] = d < D ? qrow[d] * a.scale : 0.f;
    acc[e] = 0.f;
  }
  float m = -INFINITY, l = 0.f;
  for (int j = key_begin + warp; j < key_end; j += kWarps) {
    const int64_t row =
        (static_cast<int64_t>(blocks[j / a.block_size]) * a.num_kv_heads + kvh) * a.block_size +
        j % a.block_size;
    const KvT* krow = k_pool + row * D;
    float dot = 0.f;
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) {
      const int d = lane * kPerLane + e;
      if (d < D) dot += qv[e] * ToFloat(krow[d]);
    }
    dot = WarpSum(dot);
    const float m_new = fmaxf(m, dot);
    const float correction = __expf(m - m_new), p = __expf(dot - m_new);
    l = l * correction + p;
    const KvT* vrow = v_pool + row * D;
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) {
      const int d = lane * kPerLane + e;
      acc[e] = acc[e] * correction + (d < D ? p * ToFloat(vrow[d]) : 0.f);
    }
    m = m_new;
  }

  // Merge the warps.
  __shared__ float sm_m[kWarps], sm_l[kWarps];
  __shared__ float sm_acc[kWarps][kPerLane * 32];
  if (lane == 0) {
    sm_m[warp] = m;
    sm_l[warp] = l;
  }
#pragma unroll
  for (int e = 0; e < kPerLane; ++e) sm_acc[warp][lane * kPerLane + e] = acc[e];
  __syncthreads();
  float mx = -INFINITY;
  for (int w = 0; w < kWarps; ++w) mx = fmaxf(mx, sm_m[w]);
  float weight[kWarps], total = 0.f;
  for (int w = 0; w < kWarps; ++w) {
    weight[w] = sm_m[w] == -INFINITY ? 0.f : __expf(sm_m[w] - mx);
    total += sm_l[w] * weight[w];
  }
  const int64_t head_index = t * a.num_heads + h;
  if (num_splits == 1) {
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
      float o = 0.f;
      for (int w = 0; w < kWarps; ++w) o += sm_acc[w][d] * weight[w];
      out[head_index * D + d] = __float2bfloat16_rn(o / total);
    }
    return;
  }
  float* rec = Partial::At(scratch, head_index * num_splits + split, D);
  if (threadIdx.x == 0) {
    rec[0] = mx;
    rec[1] = total;
  }
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float o = 0.f;
    for (int w = 0; w < kWarps; ++w) o += sm_acc[w][d] * weight[w];
    rec[2 + d] = o;
  }
}

__global__ void MergeSplitsKernel(const float* scratch, int num_splits, int D, bf16* out) {
  const int64_t head_index = blockIdx.x;
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

// Splits only when the (token, head) pairs alone leave most of the GPU idle.
int NumSplits(const AttentionArgs& a, int num_sms) {
  const int64_t pairs = a.num_tokens * a.num_heads;
  if (pairs >= 2ll * num_sms || a.max_context <= kSplitKeys) return 1;
  return (a.max_context + kSplitKeys - 1) / kSplitKeys;
}

template <typename KvT, int kPerLane>
void Launch(const float* q, const AttentionArgs& a, int num_splits, float* scratch, bf16* out,
            cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(a.num_heads), static_cast<unsigned>(a.num_tokens),
                  static_cast<unsigned>(num_splits));
  AttentionKernel<KvT, kPerLane><<<grid, kWarps * 32, 0, stream>>>(q, a, num_splits, scratch, out);
}

}  // namespace

int64_t AttentionScratchFloats(const AttentionArgs& a, int num_sms) {
  const int splits = NumSplits(a, num_sms);
  return splits == 1 ? 0 : a.num_tokens * a.num_heads * splits * (a.head_dim + 2);
}

void PagedAttention(const float* q, const AttentionArgs& a, float* scratch, int num_sms, bf16* out,
                    cudaStream_t stream) {
  if (a.num_tokens == 0) return;
  const int splits = NumSplits(a, num_sms);
  DispatchKv(a.kv_dtype, [&](auto type) {
    using KvT = decltype(type);
    if (a.head_dim <= 64) {
      Launch<KvT, 2>(q, a, splits, scratch, out, stream);
    } else if (a.head_dim <= 128) {
      Launch<KvT, 4>(q, a, splits, scratch, out, stream);
    } else {
      Launch<KvT, 8>(q, a, splits, scratch, out, stream);
    }
  });
  if (splits > 1) {
    MergeSplitsKernel<<<static_cast<unsigned>(a.num_tokens * a.num_heads), 128, 0, stream>>>(
        scratch, splits, a.head_dim, out);
  }
}

}  // namespace ts::cuda
