// LlamaModel: the Llama-family decoder (Llama, Mistral, Qwen2, Qwen3) on the CPU. Computes on
// the mapped weights in place, except that on CPUs with AVX512-VNNI the quantized matrices are
// repacked once at load for the integer kernels (kernels/packed_quant.h), and with
// --bf16-activations the bf16 matrices for the bf16 kernel (kernels/packed_bf16.h); uses the
// thread pool it is given for the heavy kernels.
//
// Split over ranks (ModelOptions::communicator), each holds a shard (model/weight_shard.h) and
// its KV heads' share of the pool; the residual stream is summed across ranks after o_proj and
// down_proj, and rank 0 gathers the logits of the vocabulary slices.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/packed_bf16.h"
#include "kernels/packed_quant.h"
#include "model/model.h"
#include "model/weight_shard.h"

namespace ts {

class LlamaModel final : public Model {
 public:
  static Result<std::unique_ptr<LlamaModel>> Load(const std::string& model_dir,
                                                  const ModelOptions& options);
  // The leader of a tensor-parallel group tells the followers to stop.
  ~LlamaModel() override;

  size_t weight_bytes_per_token() const override;
  Status Forward(const StepBatch& batch, const KvPoolView& kv, float* logits,
                 ThreadPool& pool) override;
  DeviceMemory& kv_memory() override { return HostMemory(); }
  Result<int64_t> KvBudgetBytes(double, int32_t) override { return int64_t{0}; }

 private:
  LlamaModel() = default;
  // Tensor parallelism at load: checks every rank loaded the same model, then keeps this
  // rank's shard of the weights.
  Status JoinGroup(Communicator* comm, const ModelOptions& options);
  // Sum of every rank's partial `data` (a no-op on a single rank).
  Status SumAcrossRanks(float* data, int64_t n);
  // This rank's logits slice to rank 0, which interleaves the slices into `logits`.
  Status GatherLogits(int64_t rows, float* logits);

  ModelFolder folder_;
  ShardDims dims_;  // this rank's heads, KV heads, MLP columns, vocabulary rows
  std::vector<std::unique_ptr<uint8_t[]>> shard_copies_;  // column-split matrices
  // Referenced by folder_.weights.
  std::vector<std::unique_ptr<PackedQuantMatrix>> packed_;
  std::vector<std::unique_ptr<PackedBf16Matrix>> packed_bf16_;
  std::vector<float> inv_freq_;  // [head_dim / 2]
  // Activations, grown to the largest step seen (engine thread only).
  std::vector<float> hidden_, normed_, q_, k_, v_, attn_, proj_, gate_, up_;
  std::vector<float> local_logits_, gathered_logits_;
};

}  // namespace ts
