// LlamaModel: the Llama-family decoder (Llama, Mistral, Qwen2, Qwen3) over a StepBatch and the
// paged KV pool. Owns the mapped weights. Forward is called by one thread at a time (the
// engine thread); it uses the thread pool it is given for the heavy kernels.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "model/kv_layout.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/safetensors.h"
#include "model/step_batch.h"

namespace ts {

class LlamaModel {
 public:
  static Result<std::unique_ptr<LlamaModel>> Load(const std::string& model_dir);

  const ModelConfig& config() const { return config_; }
  // 128-bit identity of config and weights: the root of the KV cache's block-hash chain
  // (the cache adds KV dtype, block size and layout version).
  std::array<uint64_t, 2> fingerprint() const { return fingerprint_; }
  // Bytes of weights one decode step reads (for bandwidth figures).
  size_t weight_bytes_per_token() const;

  // Runs one step: writes the new tokens' K/V into `kv` and returns logits for
  // batch.logit_rows in `logits` ([logit_rows.size()][vocab_size]).
  // REQUIRES: the batch is consistent (ValidateBatch passes) and kv matches this model.
  Status Forward(const StepBatch& batch, const KvPoolView& kv, float* logits, ThreadPool& pool);

  // Checks a batch's internal consistency against this model and pool.
  Status ValidateBatch(const StepBatch& batch, const KvPoolView& kv) const;

  // The KV layout this model needs for a block size and dtype.
  KvLayout MakeKvLayout(int32_t block_size, KvDtype dtype) const;

 private:
  LlamaModel() = default;

  ModelConfig config_;
  TensorStore store_;
  ModelWeights weights_;
  std::vector<float> inv_freq_;  // [head_dim / 2]
  std::array<uint64_t, 2> fingerprint_{};
  // Activations, grown to the largest step seen (engine thread only).
  std::vector<float> hidden_, normed_, q_, k_, v_, attn_, proj_, gate_, up_;
};

}  // namespace ts
