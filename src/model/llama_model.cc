#include "model/llama_model.h"

#include <cmath>
#include <cstring>
#include <span>
#include <string>

#include "base/log.h"
#include "kernels/attention.h"
#include "kernels/elementwise.h"
#include "kernels/matmul.h"
#include "model/step_message.h"

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

// OK when every rank of `group` passes the same `values`; else names the first rank that
// differs from rank 0 (the same answer on every rank).
Status SameOnEveryRank(Communicator* group, std::span<const uint64_t> values,
                       const std::string& what) {
  std::vector<uint8_t> all;
  RETURN_IF_ERROR(group->AllGather(
      {reinterpret_cast<const uint8_t*>(values.data()), values.size_bytes()}, &all));
  for (int r = 1; r < group->size(); ++r) {
    if (std::memcmp(all.data() + r * values.size_bytes(), all.data(), values.size_bytes()) != 0) {
      return FailedPrecondition("tensor parallelism: rank " + std::to_string(r) + " has " + what +
                                " than rank 0");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<LlamaModel>> LlamaModel::Load(const std::string& model_dir,
                                                     const ModelOptions& options) {
  std::unique_ptr<LlamaModel> m(new LlamaModel());
  ASSIGN_OR_RETURN(m->folder_, OpenModelFolder(model_dir));
  m->config_ = m->folder_.config;
  m->fingerprint_ = m->folder_.fingerprint;
  m->inv_freq_ = RopeInvFreqFor(m->config_);
  if (options.communicator != nullptr && options.communicator->size() > 1) {
    RETURN_IF_ERROR(m->JoinGroup(options.communicator, options));
  } else {
    ASSIGN_OR_RETURN(m->dims_, ShardDimsFor(m->config_, m->folder_.weights, 0, 1));
  }
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
  if (m->group_ != nullptr) {
    // Whether weights were repacked, and for which kernels, depends on each host's CPU: the
    // ranks must still all compute the same way (the fingerprint records the repacking).
    const uint64_t arithmetic[3] = {m->fingerprint_[0], m->fingerprint_[1],
                                    static_cast<uint64_t>(SelectedIsa())};
    RETURN_IF_ERROR(SameOnEveryRank(m->group_, arithmetic,
                                    "other CPU kernels (instruction set or repacked weights)"));
  }
  return m;
}

LlamaModel::~LlamaModel() {
  if (group_ == nullptr || !group_->is_leader()) return;
  std::vector<uint8_t> stop = EncodeShutdown();
  if (Status s = group_->Broadcast(&stop); !s.ok()) {
    LOG(ERROR) << "stopping the followers: " << s.ToString();
  }
}

Status LlamaModel::JoinGroup(Communicator* comm, const ModelOptions& options) {
  // Every rank must run the same model: compare what the fingerprint covers (the config and a
  // sample of every tensor) and the options that change the arithmetic.
  const uint64_t identity[3] = {
      fingerprint_[0], fingerprint_[1],
      (options.int8_activations ? 1u : 0u) | (options.bf16_activations ? 2u : 0u)};
  RETURN_IF_ERROR(SameOnEveryRank(comm, identity, "loaded a different model or options"));
  ASSIGN_OR_RETURN(dims_, ShardDimsFor(config_, folder_.weights, comm->rank(), comm->size()));
  ShardWeights(dims_, config_, comm->rank(), &folder_.weights, &shard_copies_);
  group_ = comm;
  // Each rank's KV pool holds other heads than a single rank's would: never mix the two.
  fingerprint_[0] ^= 0x74656e736f727000ull + static_cast<uint64_t>(comm->size());
  return Status::Ok();
}

Status LlamaModel::SumAcrossRanks(float* data, int64_t n) {
  if (group_ == nullptr) return Status::Ok();
  return group_->AllReduceSum({data, static_cast<size_t>(n)});
}

Status LlamaModel::GatherLogits(int64_t rows, float* logits) {
  const int64_t width = dims_.vocab_end - dims_.vocab_begin;
  RETURN_IF_ERROR(group_->GatherToLeader({local_logits_.data(), static_cast<size_t>(rows * width)},
                                         &gathered_logits_));
  if (!group_->is_leader()) return Status::Ok();
  // The slices arrive one rank after the other, each [rows][its vocabulary rows].
  const int64_t vocab = config_.vocab_size;
  const float* part = gathered_logits_.data();
  for (int r = 0; r < group_->size(); ++r) {
    int32_t begin = 0, end = 0;
    VocabRange(config_.vocab_size, r, group_->size(), &begin, &end);
    const int64_t w = end - begin;
    for (int64_t row = 0; row < rows; ++row) {
      std::memcpy(logits + row * vocab + begin, part + row * w,
                  static_cast<size_t>(w) * sizeof(float));
    }
    part += rows * w;
  }
  return Status::Ok();
}

size_t LlamaModel::weight_bytes_per_token() const { return WeightBytesPerToken(folder_.weights); }

Status LlamaModel::Forward(const StepBatch& b, const KvPoolView& kv, float* logits,
                           ThreadPool& pool) {
  const ModelConfig& c = config_;
  const int64_t T = b.num_tokens();
  if (T == 0) return Status::Ok();
  if (group_ != nullptr && group_->is_leader()) {
    std::vector<uint8_t> step = EncodeStep(b, kv.num_blocks, kv.layout.block_size, kv.layout.dtype);
    RETURN_IF_ERROR(group_->Broadcast(&step));
  }
  // This rank's share (all of it on a single rank).
  const int64_t heads = dims_.num_heads, kv_heads = dims_.num_kv_heads;
  const int64_t H = c.hidden_size, D = c.head_dim, I = dims_.intermediate_size;
  const int64_t q_dim = heads * D, kv_dim = kv_heads * D;
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
  attn.num_heads = static_cast<int32_t>(heads);
  attn.num_kv_heads = static_cast<int32_t>(kv_heads);
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
      RmsNorm(q_.data(), w.q_norm.data(), T * heads, D, c.rms_norm_eps, q_.data());
      RmsNorm(k_.data(), w.k_norm.data(), T * kv_heads, D, c.rms_norm_eps, k_.data());
    }
    Rope(q_.data(), b.positions.data(), T, heads, D, inv_freq_.data());
    Rope(k_.data(), b.positions.data(), T, kv_heads, D, inv_freq_.data());
    attn.k_pool = kv.k[layer];
    attn.v_pool = kv.v[layer];
    WriteKv(k_.data(), v_.data(), b.slot.data(), T, attn, kv.k[layer], kv.v[layer]);
    PagedAttention(q_.data(), attn, attn_.data(), pool);
    ApplyLinear(w.o, attn_.data(), T, proj_.data(), pool);
    RETURN_IF_ERROR(SumAcrossRanks(proj_.data(), T * H));
    AddInPlace(hidden_.data(), proj_.data(), T * H);

    // MLP block: h += down(silu(gate(norm(h))) * up(norm(h)))
    RmsNorm(hidden_.data(), w.post_attn_norm.data(), T, H, c.rms_norm_eps, normed_.data());
    ApplyLinear(w.gate, normed_.data(), T, gate_.data(), pool);
    ApplyLinear(w.up, normed_.data(), T, up_.data(), pool);
    SiluMul(gate_.data(), up_.data(), T * I, gate_.data());
    ApplyLinear(w.down, gate_.data(), T, proj_.data(), pool);
    RETURN_IF_ERROR(SumAcrossRanks(proj_.data(), T * H));
    AddInPlace(hidden_.data(), proj_.data(), T * H);
  }

  // Final norm and logits, only for the rows asked for.
  const int64_t R = static_cast<int64_t>(b.logit_rows.size());
  for (int64_t r = 0; r < R; ++r) {
    const int64_t row = b.logit_rows[static_cast<size_t>(r)];
    RmsNorm(hidden_.data() + row * H, folder_.weights.final_norm.data(), 1, H, c.rms_norm_eps,
            normed_.data() + r * H);
  }
  if (group_ == nullptr) {
    MatMul(normed_.data(), R, folder_.weights.lm_head, logits, pool);
    return Status::Ok();
  }
  Grow(local_logits_, R * (dims_.vocab_end - dims_.vocab_begin));
  MatMul(normed_.data(), R, folder_.weights.lm_head, local_logits_.data(), pool);
  return GatherLogits(R, logits);
}

}  // namespace ts
