// ModelWeights: every tensor the Llama-family forward pass reads, bound to the mapped
// safetensors by name and checked against the config (shape, dtype, quantization) at load.
// Matrices are views into the mapped files (zero-copy); the small vectors (norm weights,
// biases) are converted to f32 copies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "kernels/weight_matrix.h"
#include "model/model_config.h"
#include "model/safetensors.h"

namespace ts {

struct Linear {
  WeightMatrix weight;      // [out][in]
  std::vector<float> bias;  // [out], empty when the module has none
};

struct LayerWeights {
  std::vector<float> input_norm;      // [hidden]
  std::vector<float> post_attn_norm;  // [hidden]
  std::vector<float> q_norm, k_norm;  // [head_dim], Qwen3 only
  Linear q, k, v, o;                  // q: [heads*head_dim][hidden] ... o: [hidden][heads*head_dim]
  Linear gate, up, down;              // gate/up: [inter][hidden], down: [hidden][inter]
};

struct ModelWeights {
  WeightMatrix embed;    // [vocab][hidden]
  WeightMatrix lm_head;  // [vocab][hidden]; the embedding itself when tied
  std::vector<float> final_norm;
  std::vector<LayerWeights> layers;
};

Result<ModelWeights> BindWeights(const ModelConfig& config, const TensorStore& store);

// Bytes of weight matrices one decode step reads (for bandwidth figures).
size_t WeightBytesPerToken(const ModelWeights& weights);

}  // namespace ts
