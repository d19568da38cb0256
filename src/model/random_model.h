// Random-weight model folders for tests and benchmarks (`tierserve gen-model`): real shapes
// (presets of well-known models, or any shape from flags), deterministic from a seed, with
// weight scales chosen so activations keep a realistic range through every layer:
//   projections into the residual stream (o_proj, down_proj) ~ 1/sqrt(fan_in * 2 * layers),
//   other projections ~ 1/sqrt(fan_in), embeddings and lm_head ~ 2/sqrt(hidden) (logits with a
//   standard deviation near 2), norm weights 1 +- 0.1, biases +- 0.1.
// Values are uniform and computed from integer hashes only, so a folder is bit-identical on
// every machine — the golden tests regenerate models instead of storing them.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "model/dtype.h"
#include "model/model_config.h"

namespace ts {

struct ModelShape {
  Arch arch = Arch::kQwen3;
  int32_t vocab_size = 0;
  int32_t hidden_size = 0;
  int32_t intermediate_size = 0;
  int32_t num_layers = 0;
  int32_t num_heads = 0;
  int32_t num_kv_heads = 0;
  int32_t head_dim = 0;
  bool tie_word_embeddings = false;
  int32_t max_position_embeddings = 4096;
  RopeConfig rope;
};

// tiny, qwen3-0.6b, qwen3-1.7b, qwen3-4b, qwen3-8b, llama3-8b.
Result<ModelShape> PresetShape(const std::string& preset);
Result<Arch> ArchFromName(const std::string& name);  // llama, mistral, qwen2, qwen3

struct GenModelOptions {
  ModelShape shape;
  DType dtype = DType::kBf16;
  QuantSpec quant;              // bits 0: float weights
  uint64_t seed = 0;
  std::string tokenizer_dir;    // empty: no tokenizer files
  std::string out_dir;
  uint64_t max_shard_bytes = 4ull << 30;
};

Status GenerateRandomModel(const GenModelOptions& options);

}  // namespace ts
