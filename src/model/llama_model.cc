#include "model/llama_model.h"

#include <cmath>

#include "base/log.h"
#include "kernels/attention.h"
#include "kernels/elementwise.h"
#include "kernels/matmul.h"

namespace ts {
namespace {

void Grow(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

void ApplyLinear(const Linear& l, const float* x, int64_t num_rows, float* y, ThreadPool& pool) {
  MatMul(x, num_rows, l.weight, y, pool);
  if (!l.bias.empty()) AddBias(y, l.bias.data(), num_rows, l.weight.rows);
}

// Calls f on every matrix a matmul reads. The embedding keeps its stored form for row lookups
// (a tied lm_head is a separate view of the same bytes), so repacking one leaves the other.
template <typename F>
void ForEachMatMulWeight(ModelWeights& w, F f) {
  f(w.lm_head);
  for (LayerWeights& l : w.layers) {
    for (Linear* lin : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) f(lin->weight);
  }
}

}  // namespace

Result<std::unique_ptr<LlamaModel>> LlamaModel::Load(const std::string& model_dir,
                                                     const ModelOptions& options) {
  std::unique_ptr<LlamaModel> m(new LlamaModel());
  ASSIGN_OR_RETURN(m->folder_, OpenModelFolder(model_dir));
  m->config_ = m->folder_.config;
  m->fingerprint_ = m->folder_.fingerprint;
  m->inv_freq_ = RopeInvFreqFor(m->config_);
  // KV computed with rounded activations is not mixed with KV computed otherwise: each rounding
  // changes the fingerprint.
  if (SelectedIsa() == Isa::kAvx512Vnni) {
    const int bits = options.int8_activations ? 8 : 16;
    ForEachMatMulWeight(m->folder_.weights, [&](WeightMatrix& w) {
      if (!PackedQuantMatrix::CanPack(w)) return;
      m->packed_.push_back(std::make_unique<PackedQuantMatrix>(w, bits));
      w.packed = m->packed_.back().get();
    });
    if (!m->packed_.empty())
      m->fingerprint_[1] ^= bits == 8 ? 0x637075696e7438ull : 0x637075696e743136ull;
  }
  if (options.bf16_activations) {
    if (!CpuHasAvx512Bf16() || SelectedIsa() == Isa::kAvx2) {
      return InvalidArgument(
          "--bf16-activations needs AVX512-BF16 and AVX-512 kernels (this CPU lacks them, or "
          "TS_ISA selects a narrower set)");
    }
    ForEachMatMulWeight(m->folder_.weights, [&](WeightMatrix& w) {
      if (!PackedBf16Matrix::CanPack(w)) return;
      m->packed_bf16_.push_back(std::make_unique<PackedBf16Matrix>(w));
      w.packed_bf16 = m->packed_bf16_.back().get();
    });
    if (m->packed_bf16_.empty()) {
      LOG(WARNING) << "--bf16-activations: " << model_dir << " has no bf16 weights; no effect";
    } else {
      m->fingerprint_[1] ^= 0x6370756266313661ull;
    }
  }
  return m;
}

size_t LlamaModel::weight_bytes_per_token() const { return WeightBytesPerToken(folder_.weights); }

Status LlamaModel::Forward(const StepBatch& b, const KvPoolView& kv, float* logits,
                           ThreadPool& pool) {
  const ModelConfig& c = config_;
  const int64_t T = b.num_tokens();
  if (T == 0) return Status::Ok();
  const int64_t H = c.hidden_size, D = c.head_dim, I = c.intermediate_size;
  const int64_t q_dim = c.num_heads * D, kv_dim = c.num_kv_heads * D;
  Grow(hidden_, T * H);  // [T, hidden] residual stream
  Grow(normed_, T * H);  // [T, hidden]
  Grow(q_, T * q_dim);   // [T, heads * head_dim]
  Grow(k_, T * kv_dim);  // [T, kv_heads * head_dim]
  Grow(v_, T * kv_dim);
  Grow(attn_, T * q_dim);
  Grow(proj_, T * H);
  Grow(gate_, T * I);  // [T, intermediate]
  Grow(up_, T * I);

  PagedAttentionArgs attn;
  attn.kv_dtype = kv.layout.dtype;
  attn.block_size = kv.layout.block_size;
  attn.num_heads = c.num_heads;
  attn.num_kv_heads = c.num_kv_heads;
  attn.head_dim = c.head_dim;
  attn.scale = 1.f / std::sqrt(static_cast<float>(D));
  attn.num_seqs = b.num_seqs();
  attn.query_start = b.query_start.data();
  attn.context_len = b.context_len.data();
  attn.block_table = b.block_table.data();
  attn.max_blocks_per_seq = b.max_blocks_per_seq;

  // Token embeddings.
  GatherRows(folder_.weights.embed, b.tokens.data(), T, hidden_.data());

  for (int32_t layer = 0; layer < c.num_layers; ++layer) {
    const LayerWeights& w = folder_.weights.layers[static_cast<size_t>(layer)];
    // Attention block: h += o_proj(attention(rope(norm(q)), rope(norm(k)), v))
    RmsNorm(hidden_.data(), w.input_norm.data(), T, H, c.rms_norm_eps, normed_.data());
    ApplyLinear(w.q, normed_.data(), T, q_.data(), pool);
    ApplyLinear(w.k, normed_.data(), T, k_.data(), pool);
    ApplyLinear(w.v, normed_.data(), T, v_.data(), pool);
    if (c.qk_norm) {  // Qwen3: RMSNorm over each head's vector before RoPE
      RmsNorm(q_.data(), w.q_norm.data(), T * c.num_heads, D, c.rms_norm_eps, q_.data());
      RmsNorm(k_.data(), w.k_norm.data(), T * c.num_kv_heads, D, c.rms_norm_eps, k_.data());
    }
    Rope(q_.data(), b.positions.data(), T, c.num_heads, D, inv_freq_.data());
    Rope(k_.data(), b.positions.data(), T, c.num_kv_heads, D, inv_freq_.data());
    attn.k_pool = kv.k[layer];
    attn.v_pool = kv.v[layer];
    WriteKv(k_.data(), v_.data(), b.slot.data(), T, attn, kv.k[layer], kv.v[layer]);
    PagedAttention(q_.data(), attn, attn_.data(), pool);
    ApplyLinear(w.o, attn_.data(), T, proj_.data(), pool);
    AddInPlace(hidden_.data(), proj_.data(), T * H);

    // MLP block: h += down(silu(gate(norm(h))) * up(norm(h)))
    RmsNorm(hidden_.data(), w.post_attn_norm.data(), T, H, c.rms_norm_eps, normed_.data());
    ApplyLinear(w.gate, normed_.data(), T, gate_.data(), pool);
    ApplyLinear(w.up, normed_.data(), T, up_.data(), pool);
    SiluMul(gate_.data(), up_.data(), T * I, gate_.data());
    ApplyLinear(w.down, gate_.data(), T, proj_.data(), pool);
    AddInPlace(hidden_.data(), proj_.data(), T * H);
  }

  // Final norm and logits, only for the rows asked for.
  const int64_t R = static_cast<int64_t>(b.logit_rows.size());
  for (int64_t r = 0; r < R; ++r) {
    const int64_t row = b.logit_rows[static_cast<size_t>(r)];
    RmsNorm(hidden_.data() + row * H, folder_.weights.final_norm.data(), 1, H, c.rms_norm_eps,
            normed_.data() + r * H);
  }
  MatMul(normed_.data(), R, folder_.weights.lm_head, logits, pool);
  return Status::Ok();
}

}  // namespace ts
