// ModelConfig: the parts of a Hugging Face config.json (+ generation_config.json) that the
// Llama-family forward pass needs, validated at load. Anything we cannot run exactly (an
// unknown architecture, rope type, activation, quantization) is an error here, never a
// wrong answer later.
//
// Reads configs as written by transformers 4 and 5: rope_theta / rope_scaling at the top
// level or inside rope_parameters; torch_dtype or dtype.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace ts {

enum class Arch { kLlama, kMistral, kQwen2, kQwen3 };

struct RopeConfig {
  float theta = 10000.f;
  // Llama 3.x frequency scaling ("rope_type": "llama3"); factor == 0 means none.
  float llama3_factor = 0.f;
  float llama3_low_freq_factor = 1.f;
  float llama3_high_freq_factor = 4.f;
  int32_t llama3_original_max_position = 8192;
};

// MLX affine quantization: w = scale * q + bias per group of group_size along the input dim.
struct QuantSpec {
  int32_t bits = 0;  // 0: not quantized
  int32_t group_size = 0;
};

struct ModelConfig {
  Arch arch = Arch::kLlama;
  std::string architecture;  // as written, e.g. "Qwen3ForCausalLM"
  int32_t vocab_size = 0;
  int32_t hidden_size = 0;
  int32_t intermediate_size = 0;
  int32_t num_layers = 0;
  int32_t num_heads = 0;
  int32_t num_kv_heads = 0;
  int32_t head_dim = 0;
  float rms_norm_eps = 1e-6f;
  RopeConfig rope;
  int32_t max_position_embeddings = 0;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v biases (always on for Qwen2)
  bool qk_norm = false;         // per-head RMSNorm of q and k (Qwen3)
  std::string dtype = "bfloat16";  // torch_dtype / dtype
  QuantSpec quant;                 // default for all quantized modules
  std::map<std::string, QuantSpec> quant_overrides;  // per module path, from "quantization"
  int32_t bos_token_id = -1;
  std::vector<int32_t> eos_token_ids;  // generation_config.json, else config.json

  // The quantization of one module ("model.layers.0.self_attn.q_proj"): an override when
  // the quantization dict names the module, else the default.
  QuantSpec QuantFor(const std::string& module) const;
};

// Parses config.json text (and optional generation_config.json text, may be empty).
Result<ModelConfig> ParseModelConfig(const std::string& config_json,
                                     const std::string& generation_config_json);

// Loads DIR/config.json and DIR/generation_config.json (optional).
Result<ModelConfig> LoadModelConfig(const std::string& model_dir);

}  // namespace ts
