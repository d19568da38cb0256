// LlamaModel: the Llama-family decoder (Llama, Mistral, Qwen2, Qwen3) on the CPU. Computes on
// the mapped weights in place, except that on CPUs with AVX512-VNNI the quantized matrices are
// repacked once at load for the integer kernels (kernels/packed_quant.h), and with
// --bf16-activations the bf16 matrices for the bf16 kernel (kernels/packed_bf16.h); uses the
// thread pool it is given for the heavy kernels.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/packed_bf16.h"
#include "kernels/packed_quant.h"
#include "model/model.h"

namespace ts {

class LlamaModel final : public Model {
 public:
  static Result<std::unique_ptr<LlamaModel>> Load(const std::string& model_dir,
                                                  const ModelOptions& options);

  size_t weight_bytes_per_token() const override;
  Status Forward(const StepBatch& batch, const KvPoolView& kv, float* logits,
                 ThreadPool& pool) override;
  DeviceMemory& kv_memory() override { return HostMemory(); }
  Result<int64_t> KvBudgetBytes(double, int32_t) override { return int64_t{0}; }

 private:
  LlamaModel() = default;

  ModelFolder folder_;
  // Referenced by folder_.weights.
  std::vector<std::unique_ptr<PackedQuantMatrix>> packed_;
  std::vector<std::unique_ptr<PackedBf16Matrix>> packed_bf16_;
  std::vector<float> inv_freq_;  // [head_dim / 2]
  // Activations, grown to the largest step seen (engine thread only).
  std::vector<float> hidden_, normed_, q_, k_, v_, attn_, proj_, gate_, up_;
};

}  // namespace ts
