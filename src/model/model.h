// Model: a loaded decoder that runs StepBatches over the paged KV pool, on the CPU (LlamaModel)
// or a CUDA device (CudaLlamaModel). The engine holds one and calls it from its thread only.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "dist/communicator.h"
#include "kernels/device_memory.h"
#include "model/kv_layout.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/safetensors.h"
#include "model/step_batch.h"

namespace ts {

enum class Device : uint8_t { kCpu, kCuda };

// "cpu" or "cuda" (also "cuda:0" for the first device).
Result<Device> ParseDevice(const std::string& text);
// Whether this build and machine can run models on `device`.
bool DeviceAvailable(Device device);

class Model {
 public:
  virtual ~Model() = default;

  const ModelConfig& config() const { return config_; }
  // 128-bit identity of config, weights and the device's arithmetic: the root of the KV
  // cache's block-hash chain (the cache adds KV dtype, block size and layout version).
  std::array<uint64_t, 2> fingerprint() const { return fingerprint_; }
  // Ranks the model is split over (--tensor-parallel); the KV pool of each holds its share of
  // the KV heads.
  int32_t tensor_parallel_size() const { return group_ != nullptr ? group_->size() : 1; }
  // The ranks' group (ModelOptions::communicator) when split over several, else null.
  Communicator* tensor_parallel_group() const { return group_; }
  // Bytes of weights one decode step reads (for bandwidth figures).
  virtual size_t weight_bytes_per_token() const = 0;

  // Runs one step: writes the new tokens' K/V into `kv` and returns logits for
  // batch.logit_rows in host memory `logits` ([logit_rows.size()][vocab_size]). Split over
  // ranks, the leader (rank 0) first sends the step to the others, which run it from
  // RunTensorParallelFollower (engine/) with logits == nullptr.
  // REQUIRES: the batch is consistent (ValidateBatch passes) and kv matches this model and
  // lives in kv_memory().
  virtual Status Forward(const StepBatch& batch, const KvPoolView& kv, float* logits,
                         ThreadPool& pool) = 0;

  // Where the KV pool must live for Forward to read it.
  virtual DeviceMemory& kv_memory() = 0;
  // Bytes the KV pool may take on the model's device after weights and the activations of
  // steps of up to max_tokens tokens, given the fraction of device memory to use; 0 for
  // host-memory models (the --kv-cache-memory flag decides there).
  virtual Result<int64_t> KvBudgetBytes(double memory_fraction, int32_t max_tokens) = 0;

  // Checks a batch's internal consistency against this model and pool.
  Status ValidateBatch(const StepBatch& batch, const KvPoolView& kv) const;
  // The KV layout this model needs for a block size and dtype.
  KvLayout MakeKvLayout(int32_t block_size, KvDtype dtype) const;

 protected:
  ModelConfig config_;
  std::array<uint64_t, 2> fingerprint_{};
  Communicator* group_ = nullptr;  // set when split over several ranks
};

// A model folder opened on the host: config, mapped tensors and the weights bound to them.
// The CPU model computes on these in place; the CUDA model uploads them.
struct ModelFolder {
  ModelConfig config;
  TensorStore store;
  ModelWeights weights;                   // views into store
  std::array<uint64_t, 2> fingerprint{};  // of the config text and the tensors
};
Result<ModelFolder> OpenModelFolder(const std::string& model_dir);

// RoPE inverse frequencies for the config ([head_dim / 2], with its scaling).
std::vector<float> RopeInvFreqFor(const ModelConfig& config);

struct ModelOptions {
  // Greedy outputs independent of what shares the batch (--batch-invariant). The CPU model
  // always is; the CUDA model then uses fixed-order products (its GEMV, eight tokens at a
  // time, instead of cuBLAS) and fixed attention splits, at a cost in speed.
  bool batch_invariant = false;
  // CPU with AVX512-VNNI, quantized weights: round activations to int8 per group instead of
  // int16 (--int8-activations): faster prefill and batched decode, at llama.cpp's precision
  // (~1e-2 of the logits' range instead of ~1e-5). Without VNNI, activations stay f32.
  bool int8_activations = false;
  // CPU with AVX512-BF16, bf16 weights: round activations to bf16 (as PyTorch does running a
  // bf16 model) and multiply with vdpbf16ps (--bf16-activations): about twice the prefill
  // speed, logits within ~1e-2 of their range. The repacked matrices are a second copy of the
  // bf16 weights in RAM. Loading fails without AVX512-BF16; the CUDA model ignores it.
  bool bf16_activations = false;
  // Tensor parallelism (--tensor-parallel): the group this process is one rank of, borrowed
  // (it outlives the model); null or a group of one: the whole model here. CPU only so far.
  // Loading is collective: every rank loads the same folder with the same options.
  Communicator* communicator = nullptr;
};

// Loads the folder's model onto `device`. A CUDA request fails clearly in a build without
// CUDA or on a machine without a device.
Result<std::unique_ptr<Model>> LoadModel(const std::string& model_dir, Device device,
                                         const ModelOptions& options = {});

}  // namespace ts
