#include "model/llama_model.h"

#include <xxhash.h>

#include <cmath>

#include "base/check.h"
#include "base/mapped_file.h"
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

// Hash of the config text and a sample of every tensor's bytes (4 KiB at 16 evenly spaced
// places, plus names, shapes and dtypes): distinct models differ nearly everywhere, and
// reading a sample keeps start-up fast for multi-GB folders.
std::array<uint64_t, 2> Fingerprint(const std::string& config_text, const TensorStore& store) {
  XXH3_state_t* state = XXH3_createState();
  CHECK(state != nullptr);
  XXH3_128bits_reset(state);
  XXH3_128bits_update(state, config_text.data(), config_text.size());
  std::string identity = store.IdentityString();
  XXH3_128bits_update(state, identity.data(), identity.size());
  for (const std::string& name : store.Names()) {
    const TensorView* t = store.Find(name);
    const size_t bytes = t->info->end - t->info->begin;
    constexpr size_t kSample = 4 << 10, kPlaces = 16;
    if (bytes <= kSample * kPlaces) {
      XXH3_128bits_update(state, t->data, bytes);
      continue;
    }
    for (size_t i = 0; i < kPlaces; ++i) {
      const size_t at = (bytes - kSample) / (kPlaces - 1) * i;
      XXH3_128bits_update(state, t->data + at, kSample);
    }
  }
  XXH128_hash_t h = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  return {h.low64, h.high64};
}

}  // namespace

Result<std::unique_ptr<LlamaModel>> LlamaModel::Load(const std::string& model_dir) {
  std::unique_ptr<LlamaModel> m(new LlamaModel());
  ASSIGN_OR_RETURN(std::string config_text, ReadFileToString(model_dir + "/config.json", 16u << 20));
  ASSIGN_OR_RETURN(m->config_, LoadModelConfig(model_dir));
  ASSIGN_OR_RETURN(m->store_, TensorStore::Open(model_dir));
  ASSIGN_OR_RETURN(m->weights_, BindWeights(m->config_, m->store_));
  const ModelConfig& c = m->config_;
  m->inv_freq_.resize(static_cast<size_t>(c.head_dim / 2));
  RopeScaling scaling;
  scaling.factor = c.rope.llama3_factor;
  scaling.low_freq_factor = c.rope.llama3_low_freq_factor;
  scaling.high_freq_factor = c.rope.llama3_high_freq_factor;
  scaling.original_max_position = static_cast<float>(c.rope.llama3_original_max_position);
  RopeInvFreq(c.head_dim, c.rope.theta, scaling, m->inv_freq_.data());
  m->fingerprint_ = Fingerprint(config_text, m->store_);
  return m;
}

size_t LlamaModel::weight_bytes_per_token() const {
  size_t bytes = weights_.lm_head.total_bytes();
  for (const LayerWeights& l : weights_.layers) {
    for (const Linear* lin : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) {
      bytes += lin->weight.total_bytes();
    }
  }
  return bytes;
}

KvLayout LlamaModel::MakeKvLayout(int32_t block_size, KvDtype dtype) const {
  KvLayout layout;
  layout.num_layers = config_.num_layers;
  layout.num_kv_heads = config_.num_kv_heads;
  layout.head_dim = config_.head_dim;
  layout.block_size = block_size;
  layout.dtype = dtype;
  return layout;
}

Status LlamaModel::ValidateBatch(const StepBatch& b, const KvPoolView& kv) const {
  const int32_t S = b.num_seqs(), T = b.num_tokens();
  if (b.query_start.size() != static_cast<size_t>(S) + 1 || b.query_start[0] != 0 ||
      b.query_start[S] != T) {
    return InvalidArgument("query_start must have S+1 entries from 0 to T");
  }
  if (b.positions.size() != static_cast<size_t>(T) || b.slot.size() != static_cast<size_t>(T)) {
    return InvalidArgument("positions and slot need one entry per token");
  }
  if (b.block_table.size() != static_cast<size_t>(S) * b.max_blocks_per_seq) {
    return InvalidArgument("block_table must be S x max_blocks_per_seq");
  }
  const KvLayout& L = kv.layout;
  if (L.num_layers != config_.num_layers || L.num_kv_heads != config_.num_kv_heads ||
      L.head_dim != config_.head_dim) {
    return InvalidArgument("KV pool layout does not match the model");
  }
  for (int32_t s = 0; s < S; ++s) {
    const int32_t n = b.query_start[s + 1] - b.query_start[s];
    if (n < 0 || b.context_len[s] < n) return InvalidArgument("context_len < new tokens");
    const int32_t blocks = (b.context_len[s] + L.block_size - 1) / L.block_size;
    if (blocks > b.max_blocks_per_seq) return InvalidArgument("block table too short");
    for (int32_t i = 0; i < blocks; ++i) {
      const int32_t id = b.block_table[static_cast<size_t>(s) * b.max_blocks_per_seq + i];
      if (id < 0 || id >= kv.num_blocks) return InvalidArgument("block id out of range");
    }
  }
  for (int32_t t = 0; t < T; ++t) {
    if (b.tokens[t] < 0 || b.tokens[t] >= config_.vocab_size) {
      return InvalidArgument("token id " + std::to_string(b.tokens[t]) + " out of vocabulary");
    }
    if (b.slot[t] < 0 || b.slot[t] >= static_cast<int64_t>(kv.num_blocks) * L.block_size) {
      return InvalidArgument("slot out of range");
    }
  }
  for (int32_t r : b.logit_rows) {
    if (r < 0 || r >= T) return InvalidArgument("logit row out of range");
  }
  return Status::Ok();
}

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
  GatherRows(weights_.embed, b.tokens.data(), T, hidden_.data());

  for (int32_t layer = 0; layer < c.num_layers; ++layer) {
    const LayerWeights& w = weights_.layers[static_cast<size_t>(layer)];
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
    RmsNorm(hidden_.data() + row * H, weights_.final_norm.data(), 1, H, c.rms_norm_eps,
            normed_.data() + r * H);
  }
  MatMul(normed_.data(), R, weights_.lm_head, logits, pool);
  return Status::Ok();
}

}  // namespace ts
