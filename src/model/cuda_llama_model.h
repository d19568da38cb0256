// CudaLlamaModel: the Llama-family decoder on a CUDA device (TIERSERVE_CUDA builds). Weights
// live on the device as bf16 (f16/f32 checkpoints are converted at load) or as MLX q4/q8 with
// float32 scales; the q/k/v and gate/up products are fused into one matrix each when their
// formats agree. The KV pool lives in device memory (kv_memory()); logits come back to the
// host, only for the rows asked for.
//
// Numerics: matrix products take bf16 inputs (activations are rounded to bf16 before each
// product) and accumulate in float32; the residual stream, norms, RoPE and softmax are
// float32. Logits therefore differ from the CPU model's within bf16 rounding, and the
// fingerprint differs too, so CPU- and GPU-computed KV blocks are never mixed in one cache.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/cuda_memory.h"
#include "model/model.h"

namespace ts {

class CudaLlamaModel final : public Model {
 public:
  static Result<std::unique_ptr<CudaLlamaModel>> Load(const std::string& model_dir,
                                                      const ModelOptions& options = {});
  ~CudaLlamaModel() override;

  size_t weight_bytes_per_token() const override { return weight_bytes_per_token_; }
  Status Forward(const StepBatch& batch, const KvPoolView& kv, float* logits,
                 ThreadPool& pool) override;
  DeviceMemory& kv_memory() override { return memory_; }
  Result<int64_t> KvBudgetBytes(double memory_fraction, int32_t max_tokens) override;

  // A weight matrix on the device: bf16 [rows][cols], or MLX-quantized.
  struct Matrix {
    int64_t rows = 0, cols = 0;
    bool quantized = false;
    int32_t bits = 0, group_size = 0;
    CudaBuffer data, scales, biases;
    cuda::QuantMatrix quant() const;
  };
  // One product: parts whose outputs lie side by side in the output row.
  struct Linear {
    std::vector<std::shared_ptr<const Matrix>> parts;
    int64_t out_dim = 0;
    CudaBuffer bias;  // [out_dim] float32, or empty
  };
  struct Layer {
    CudaBuffer input_norm, post_attn_norm, q_norm, k_norm;
    Linear qkv, o, gate_up, down;
  };

 private:
  CudaLlamaModel() = default;
  Status Upload(const ModelFolder& folder);
  // y [T][l.out_dim] = x [T][K] * W^T (+ bias unless skip_bias).
  Status MatMul(const Linear& l, const cuda::bf16* x, int64_t num_tokens, float* y,
                bool skip_bias = false);
  // The same rounded to bf16, through cuBLAS only. REQUIRES: UsesGemm(num_tokens), no bias.
  Status MatMulBf16Out(const Linear& l, const cuda::bf16* x, int64_t num_tokens, cuda::bf16* y);
  // Products of num_tokens rows go through cuBLAS (not the fixed-order GEMV).
  bool UsesGemm(int64_t num_tokens) const {
    return num_tokens > cuda::kMaxGemvTokens && !batch_invariant_;
  }
  // Both of the above: y of type y_type (CUDA_R_32F or, without the GEMV, CUDA_R_16BF).
  Status MatMulInto(const Linear& l, const cuda::bf16* x, int64_t num_tokens, void* y,
                    cudaDataType_t y_type, bool skip_bias);
  Status EnsureActivations(int64_t tokens);
  // The step's arrays on the device and the kernels' arguments.
  struct DeviceBatch {
    int64_t num_tokens = 0, num_logits = 0;
    int num_splits = 1;  // attention's split count (part of a graph's shape)
    const int32_t *tokens = nullptr, *positions = nullptr, *logit_rows = nullptr;
    const int64_t* slot = nullptr;
    cuda::AttentionArgs attn;
    cuda::QkvArgs qkv;
  };
  Status PackBatch(const StepBatch& batch, const KvPoolView& kv, DeviceBatch& d);
  // Enqueues the whole forward pass up to the logits in logits_ (capturable).
  Status RunLayers(DeviceBatch& d, const KvPoolView& kv);
  void ClearGraphs();
  Status EnsureBuffer(CudaBuffer& b, size_t bytes);

  CudaMemory memory_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  int num_sms_ = 1;
  size_t weight_bytes_per_token_ = 0;

  std::shared_ptr<const Matrix> embed_;
  Linear lm_head_;
  CudaBuffer final_norm_, inv_freq_;
  std::vector<Layer> layers_;

  // Activations for steps of up to capacity_ tokens.
  int64_t capacity_ = 0;
  CudaBuffer hidden_, normed_, qkv_, q_, attn_, proj_, gate_up_, act_, logits_;
  CudaBuffer attention_scratch_, dequant_slab_, meta_;
  // Pinned staging for the step's batch arrays (copied to meta_ in one transfer).
  void* host_meta_ = nullptr;
  size_t host_meta_bytes_ = 0;
  bool has_quantized_ = false;
  CudaBuffer cublas_workspace_;

  // Decode graphs by shape: tokens, logit rows, block-table stride, attention splits, KV
  // dtype and block size, and the pool they write.
  static constexpr int64_t kMaxGraphTokens = 512;
  using GraphKey = std::tuple<int64_t, int64_t, int32_t, int, int, int32_t, const void*>;
  std::map<GraphKey, cudaGraphExec_t> graphs_;
  bool graphs_enabled_ = true;
  int32_t tiled_min_queries_ = 0;  // AttentionArgs::tiled_min_queries outside batch invariance
  bool batch_invariant_ = false;
};

}  // namespace ts
