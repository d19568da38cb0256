// Tensor-core causal attention for prefill over the paged KV pool (FlashAttention-2 style).
// The CUDA-core kernel (attention.cu) streams every key once per query token, so a long
// prompt re-reads its K/V thousands of times and spends its time on scalar FMAs. Here a
// thread block takes kRows (query token, q head) rows of one sequence: kRows / ratio
// consecutive query tokens times the ratio q heads that share one KV head, so a K/V tile
// fetched once serves the whole GQA group. Its 4 warps own 32 rows each (two 16-row mma
// tiles, so each K/V fragment read from shared memory feeds both), or 16 where the larger
// blocks would leave multiprocessors idle, and walk the visible keys
// (cached prefix included) in tiles of kKeys: S = Q K^T and O += P V run as bf16 mma.sync
// m16n8k16 with float32 accumulators, the softmax is online in base 2 (scale and log2 e
// folded into q), and the K/V tiles are double-buffered in shared memory.
#include "kernels/cuda/prefill_attention.h"

#include <type_traits>

#include "kernels/cuda/cuda_util.cuh"
#include "kernels/cuda/mma_util.cuh"

namespace ts::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
// (token, head) rows a block whose warps take m_tiles 16-row mma tiles each.
__host__ __device__ constexpr int RowsOf(int m_tiles) { return 16 * m_tiles * kWarps; }
// Keys a tile: 64, or 32 at head_dim 128 with two m-tiles a warp, where 64 would spill the
// score registers.
__host__ __device__ constexpr int KeysFor(int head_dim, int m_tiles) {
  return head_dim > 64 && m_tiles > 1 ? 32 : 64;
}
// Row padding (elements): 16 bytes, so that the 8 rows an ldmatrix reads hit distinct banks.
constexpr int kPad = 8;

template <int D, int kRows, int kKeys>
struct Smem {
  bf16 q[kRows][D + kPad];
  bf16 k[2][kKeys][D + kPad];
  bf16 v[2][kKeys][D + kPad];
};

// Keys key0 .. key0 + kKeys - 1 of one KV head into shared memory (zeros past ctx). bf16
// pools copy asynchronously; f16/f32 pools convert through registers.
template <typename KvT, int D, int kKeys>
__device__ __forceinline__ void LoadKvTile(const AttentionArgs& a, const int32_t* blocks, int kvh,
                                           int key0, int ctx, bf16 (*k)[D + kPad],
                                           bf16 (*v)[D + kPad]) {
  constexpr int kChunks = D / 8;  // 8 elements a chunk: 16 bytes of bf16
  const KvT* k_pool = static_cast<const KvT*>(a.k_pool);
  const KvT* v_pool = static_cast<const KvT*>(a.v_pool);
#pragma unroll
  for (int it = 0; it < kKeys * kChunks / kThreads; ++it) {
    const int x = threadIdx.x + it * kThreads;
    const int r = x / kChunks, c = (x % kChunks) * 8;
    const int j = key0 + r;
    const bool valid = j < ctx;
    const int64_t row =
        valid ? (static_cast<int64_t>(blocks[j / a.block_size]) * a.num_kv_heads + kvh) *
                        a.block_size +
                    j % a.block_size
              : 0;
    if constexpr (std::is_same_v<KvT, bf16>) {
      CopyAsync16(&k[r][c], k_pool + row * D + c, valid);
      CopyAsync16(&v[r][c], v_pool + row * D + c, valid);
    } else {
      Vec<KvT, 8> kx{}, vx{};
      if (valid) {
        kx = *reinterpret_cast<const Vec<KvT, 8>*>(k_pool + row * D + c);
        vx = *reinterpret_cast<const Vec<KvT, 8>*>(v_pool + row * D + c);
      }
      Vec<bf16, 8> kb, vb;
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        kb.v[e] = __float2bfloat16_rn(ToFloat(kx.v[e]));
        vb.v[e] = __float2bfloat16_rn(ToFloat(vx.v[e]));
      }
      *reinterpret_cast<Vec<bf16, 8>*>(&k[r][c]) = kb;
      *reinterpret_cast<Vec<bf16, 8>*>(&v[r][c]) = vb;
    }
  }
}

template <typename KvT, int D, int kMTiles>
__global__ void __launch_bounds__(kThreads)
    TiledPrefillKernel(const float* q, AttentionArgs a, bf16* out) {
  constexpr int kKeys = KeysFor(D, kMTiles), kWarpRows = 16 * kMTiles, kRows = RowsOf(kMTiles);
  const int s = blockIdx.z, kvh = blockIdx.x;
  const int q_begin = a.query_start[s], n = a.query_start[s + 1] - q_begin;
  if (n < a.tiled_min_queries) return;  // the CUDA-core kernel's
  const int ratio = a.num_heads / a.num_kv_heads;
  const int tokens = kRows / ratio;                     // query tokens a block
  // Blocks start in x-fastest order: the longest tiles (the last queries) of all KV heads first.
  const int i0 = (gridDim.y - 1 - blockIdx.y) * tokens;
  if (i0 >= n) return;
  const int ctx = a.context_len[s];
  const int past = ctx - n;                             // keys before the step's first token
  const int key_end = past + min(i0 + tokens, n);       // keys the block's last token sees
  const int num_tiles = (key_end + kKeys - 1) / kKeys;
  const int32_t* blocks = a.block_table + static_cast<int64_t>(s) * a.max_blocks_per_seq;

  extern __shared__ __align__(16) unsigned char smem_raw[];
  using Shared = Smem<D, kRows, kKeys>;
  Shared& sm = *reinterpret_cast<Shared*>(smem_raw);
  LoadKvTile<KvT, D, kKeys>(a, blocks, kvh, 0, ctx, sm.k[0], sm.v[0]);
  CommitCopies();

  // Row r is token i0 + r / ratio, head kvh * ratio + r % ratio.
  const float q_scale = a.scale * 1.4426950408889634f;  // log2 e: softmax in base 2
  for (int x = threadIdx.x; x < kRows * D / 4; x += kThreads) {
    const int r = x / (D / 4), d = (x % (D / 4)) * 4;
    const int i = i0 + r / ratio;
    float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
    if (i < n) {
      v = *reinterpret_cast<const float4*>(
          q + (static_cast<int64_t>(q_begin + i) * a.num_heads + kvh * ratio + r % ratio) * D +
          d);
    }
    *reinterpret_cast<uint2*>(&sm.q[r][d]) =
        make_uint2(PackBf16(v.x * q_scale, v.y * q_scale), PackBf16(v.z * q_scale, v.w * q_scale));
  }
  __syncthreads();

  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int g = lane / 4, tq = lane % 4;  // mma fragment coordinates
  // The thread's rows: warp * kWarpRows + mt * 16 + g + 8 h for its m-tiles mt and halves h.
  int visible[kMTiles][2];  // keys 0 .. visible - 1
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      visible[mt][h] = past + i0 + (warp * kWarpRows + mt * 16 + g + 8 * h) / ratio + 1;
    }
  }
  const int first_masked = past + i0 + 1;  // tiles below this need no mask

  float o[kMTiles][D / 8][4] = {}, m[kMTiles][2], l[kMTiles][2] = {};
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt) m[mt][0] = m[mt][1] = -INFINITY;
  for (int kt = 0; kt < num_tiles; ++kt) {
    const int buf = kt & 1;
    if (kt + 1 < num_tiles) {
      LoadKvTile<KvT, D, kKeys>(a, blocks, kvh, (kt + 1) * kKeys, ctx, sm.k[buf ^ 1], sm.v[buf ^ 1]);
    }
    CommitCopies();
    WaitCopies<1>();  // tile kt has landed
    __syncthreads();

    // S = Q K^T. Each fragment read from shared memory feeds several mma: a Q fragment all the
    // key columns, a K fragment (two 8-key columns) every m-tile.
    float sc[kMTiles][kKeys / 8][4] = {};
#pragma unroll
    for (int ks = 0; ks < D / 16; ++ks) {
      uint32_t qa[kMTiles][4];
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
        LoadMatrixX4(qa[mt], &sm.q[warp * kWarpRows + mt * 16 + lane % 16][ks * 16 + (lane / 16) * 8]);
      }
#pragma unroll
      for (int nt = 0; nt < kKeys / 8; nt += 2) {
        uint32_t b[4];
        LoadMatrixX4(b, &sm.k[buf][nt * 8 + (lane / 16) * 8 + lane % 8][ks * 16 + (lane / 8) % 2 * 8]);
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
          Mma(sc[mt][nt], qa[mt], b[0], b[1]);
          Mma(sc[mt][nt + 1], qa[mt], b[2], b[3]);
        }
      }
    }
    const int key0 = kt * kKeys;
    if (key0 + kKeys > first_masked) {
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
        for (int nt = 0; nt < kKeys / 8; ++nt) {
#pragma unroll
          for (int c = 0; c < 4; ++c) {
            if (key0 + nt * 8 + 2 * tq + (c & 1) >= visible[mt][c / 2]) sc[mt][nt][c] = -INFINITY;
          }
        }
      }
    }
    // Online softmax; a row's 4 threads (one quad) share its maximum. Every row sees key 0 in
    // the first tile, so m is finite from then on.
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
      float corr[2];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float mx = m[mt][h];
#pragma unroll
        for (int nt = 0; nt < kKeys / 8; ++nt) {
          mx = fmaxf(mx, fmaxf(sc[mt][nt][2 * h], sc[mt][nt][2 * h + 1]));
        }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        corr[h] = Exp2(m[mt][h] - mx);
        m[mt][h] = mx;
        l[mt][h] *= corr[h];
      }
#pragma unroll
      for (int nt = 0; nt < kKeys / 8; ++nt) {
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          sc[mt][nt][c] = Exp2(sc[mt][nt][c] - m[mt][c / 2]);
          l[mt][c / 2] += sc[mt][nt][c];
        }
      }
#pragma unroll
      for (int dn = 0; dn < D / 8; ++dn) {
#pragma unroll
        for (int c = 0; c < 4; ++c) o[mt][dn][c] *= corr[c / 2];
      }
    }
    // O += P V: the S accumulators of two 8-key column tiles are the A fragment of 16 keys; a V
    // fragment feeds every m-tile.
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) {
      uint32_t pa[kMTiles][4];
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
        pa[mt][0] = PackBf16(sc[mt][2 * kk][0], sc[mt][2 * kk][1]);
        pa[mt][1] = PackBf16(sc[mt][2 * kk][2], sc[mt][2 * kk][3]);
        pa[mt][2] = PackBf16(sc[mt][2 * kk + 1][0], sc[mt][2 * kk + 1][1]);
        pa[mt][3] = PackBf16(sc[mt][2 * kk + 1][2], sc[mt][2 * kk + 1][3]);
      }
#pragma unroll
      for (int dp = 0; dp < D / 16; ++dp) {
        uint32_t b[4];
        LoadMatrixX4Trans(b, &sm.v[buf][kk * 16 + lane % 16][dp * 16 + (lane / 16) * 8]);
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
          Mma(o[mt][2 * dp], pa[mt], b[0], b[1]);
          Mma(o[mt][2 * dp + 1], pa[mt], b[2], b[3]);
        }
      }
    }
    __syncthreads();  // buffer buf is refilled in the next iteration
  }

#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float sum = l[mt][h];
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      const int r = warp * kWarpRows + mt * 16 + g + 8 * h, i = i0 + r / ratio;
      if (i >= n) continue;
      bf16* row =
          out + (static_cast<int64_t>(q_begin + i) * a.num_heads + kvh * ratio + r % ratio) * D;
      const float inv = 1.f / sum;
#pragma unroll
      for (int dn = 0; dn < D / 8; ++dn) {
        *reinterpret_cast<__nv_bfloat162*>(row + dn * 8 + 2 * tq) =
            __floats2bfloat162_rn(o[mt][dn][2 * h] * inv, o[mt][dn][2 * h + 1] * inv);
      }
    }
  }
}

template <typename KvT, int D, int kMTiles>
void Launch(const float* q, const AttentionArgs& a, bf16* out, cudaStream_t stream) {
  constexpr int kSmem = sizeof(Smem<D, RowsOf(kMTiles), KeysFor(D, kMTiles)>);
  static const cudaError_t raised = cudaFuncSetAttribute(
      TiledPrefillKernel<KvT, D, kMTiles>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
  CUDA_CHECK(raised);
  const int tokens = RowsOf(kMTiles) / (a.num_heads / a.num_kv_heads);
  const dim3 grid(static_cast<unsigned>(a.num_kv_heads),
                  static_cast<unsigned>((a.max_query_len + tokens - 1) / tokens),
                  static_cast<unsigned>(a.num_seqs));
  TiledPrefillKernel<KvT, D, kMTiles><<<grid, kThreads, kSmem, stream>>>(q, a, out);
}

template <typename KvT, int D>
void LaunchRows(const float* q, const AttentionArgs& a, int num_sms, bf16* out,
                cudaStream_t stream) {
  // 128-row blocks when they make two waves or more (two blocks fit a multiprocessor); on the
  // H200 64-row ones won below that (qwen3-0.6b's 2048-token prefill: 256 blocks of 128 rows,
  // 6 % slower than 512 of 64).
  const int tokens = RowsOf(2) / (a.num_heads / a.num_kv_heads);
  const int64_t blocks = static_cast<int64_t>(a.num_kv_heads) * a.num_seqs *
                         ((a.max_query_len + tokens - 1) / tokens);
  if (blocks >= 4ll * num_sms) {
    Launch<KvT, D, 2>(q, a, out, stream);
  } else {
    Launch<KvT, D, 1>(q, a, out, stream);
  }
}

}  // namespace

bool TiledPrefillApplies(const AttentionArgs& a) {
  const int ratio = a.num_heads / a.num_kv_heads;
  return a.tiled_min_queries > 0 && a.max_query_len >= a.tiled_min_queries &&
         (a.head_dim == 32 || a.head_dim == 64 || a.head_dim == 128) && RowsOf(1) % ratio == 0;
}

void TiledPrefillAttention(const float* q, const AttentionArgs& a, int num_sms, bf16* out,
                           cudaStream_t stream) {
  DispatchKv(a.kv_dtype, [&](auto type) {
    using KvT = decltype(type);
    if (a.head_dim == 32) {
      LaunchRows<KvT, 32>(q, a, num_sms, out, stream);
    } else if (a.head_dim == 64) {
      LaunchRows<KvT, 64>(q, a, num_sms, out, stream);
    } else {
      LaunchRows<KvT, 128>(q, a, num_sms, out, stream);
    }
  });
}

}  // namespace ts::cuda
