#include "model/model_config.h"

#include <nlohmann/json.hpp>

#include "base/mapped_file.h"

namespace ts {
namespace {

using json = nlohmann::json;

Status Invalid(const std::string& what) { return InvalidArgument("config.json: " + what); }

Result<int32_t> GetInt(const json& j, const char* key, bool required, int32_t fallback,
                       int32_t min_value, int32_t max_value) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return Invalid(std::string("missing ") + key);
    return fallback;
  }
  if (!it->is_number_integer()) return Invalid(std::string(key) + " must be an integer");
  int64_t v = it->get<int64_t>();
  if (v < min_value || v > max_value) {
    return Invalid(std::string(key) + " = " + std::to_string(v) + " is out of range");
  }
  return static_cast<int32_t>(v);
}

Result<float> GetFloat(const json& j, const char* key, float fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number()) return Invalid(std::string(key) + " must be a number");
  return it->get<float>();
}

// rope_theta and rope_scaling live at the top level (transformers 4) or inside
// rope_parameters (transformers 5, which also moves rope_theta there).
Status ParseRope(const json& j, RopeConfig* rope) {
  const json* params = nullptr;
  if (auto it = j.find("rope_parameters"); it != j.end() && it->is_object()) params = &*it;
  ASSIGN_OR_RETURN(rope->theta, GetFloat(j, "rope_theta", 10000.f));
  if (params != nullptr) {
    ASSIGN_OR_RETURN(rope->theta, GetFloat(*params, "rope_theta", rope->theta));
  }
  if (!(rope->theta > 0)) return Invalid("rope_theta must be positive");

  const json* scaling = params;
  if (auto it = j.find("rope_scaling"); it != j.end() && it->is_object()) scaling = &*it;
  if (scaling == nullptr) return Status::Ok();
  std::string type = "default";
  for (const char* key : {"rope_type", "type"}) {
    if (auto it = scaling->find(key); it != scaling->end() && it->is_string()) {
      type = it->get<std::string>();
      break;
    }
  }
  if (type == "default") return Status::Ok();
  if (type != "llama3") return Unimplemented("config.json: rope type '" + type + "' is not supported");
  ASSIGN_OR_RETURN(rope->llama3_factor, GetFloat(*scaling, "factor", 0.f));
  ASSIGN_OR_RETURN(rope->llama3_low_freq_factor, GetFloat(*scaling, "low_freq_factor", 1.f));
  ASSIGN_OR_RETURN(rope->llama3_high_freq_factor, GetFloat(*scaling, "high_freq_factor", 4.f));
  ASSIGN_OR_RETURN(rope->llama3_original_max_position,
                   GetInt(*scaling, "original_max_position_embeddings", false, 8192, 1, 1 << 30));
  if (!(rope->llama3_factor >= 1.f) ||
      !(rope->llama3_high_freq_factor > rope->llama3_low_freq_factor)) {
    return Invalid("llama3 rope_scaling needs factor >= 1 and high_freq_factor > low_freq_factor");
  }
  return Status::Ok();
}

Result<QuantSpec> ParseQuantSpec(const json& q, const std::string& where) {
  QuantSpec spec;
  ASSIGN_OR_RETURN(spec.bits, GetInt(q, "bits", true, 0, 1, 16));
  ASSIGN_OR_RETURN(spec.group_size, GetInt(q, "group_size", false, 64, 1, 1 << 20));
  if (spec.bits != 4 && spec.bits != 8) {
    return Unimplemented("config.json: " + where + ": " + std::to_string(spec.bits) +
                         "-bit quantization is not supported (4 and 8 are)");
  }
  if (spec.group_size != 32 && spec.group_size != 64 && spec.group_size != 128) {
    return Unimplemented("config.json: " + where + ": group_size " +
                         std::to_string(spec.group_size) + " is not supported (32, 64, 128 are)");
  }
  return spec;
}

Status ParseQuantization(const json& j, ModelConfig* config) {
  const json* q = nullptr;
  for (const char* key : {"quantization", "quantization_config"}) {
    if (auto it = j.find(key); it != j.end() && it->is_object()) {
      q = &*it;
      break;
    }
  }
  if (q == nullptr) return Status::Ok();
  if (auto m = q->find("quant_method"); m != q->end()) {
    return Unimplemented("config.json: quantization method '" + m->dump() +
                         "' is not supported (MLX affine quantization is)");
  }
  ASSIGN_OR_RETURN(config->quant, ParseQuantSpec(*q, "quantization"));
  // MLX writes per-module overrides into the same dict: "model.layers.0.mlp.down_proj":
  // {"bits": 8, "group_size": 64}, or false for a module kept in float.
  for (const auto& [key, value] : q->items()) {
    if (key == "bits" || key == "group_size" || key == "mode") continue;
    if (value.is_object()) {
      ASSIGN_OR_RETURN(config->quant_overrides[key], ParseQuantSpec(value, key));
    } else if (value.is_boolean() && !value.get<bool>()) {
      config->quant_overrides[key] = QuantSpec{};
    }
  }
  if (auto mode = q->find("mode"); mode != q->end() && mode->is_string() && *mode != "affine") {
    return Unimplemented("config.json: quantization mode " + mode->dump() + " is not supported");
  }
  return Status::Ok();
}

Status ParseEosIds(const json& j, std::vector<int32_t>* out) {
  auto it = j.find("eos_token_id");
  if (it == j.end() || it->is_null()) return Status::Ok();
  out->clear();
  auto add = [&](const json& v) -> Status {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
      return Invalid("eos_token_id must be non-negative integers");
    }
    out->push_back(v.get<int32_t>());
    return Status::Ok();
  };
  if (it->is_array()) {
    for (const auto& v : *it) RETURN_IF_ERROR(add(v));
    return Status::Ok();
  }
  return add(*it);
}

}  // namespace

QuantSpec ModelConfig::QuantFor(const std::string& module) const {
  auto it = quant_overrides.find(module);
  return it == quant_overrides.end() ? quant : it->second;
}

Result<ModelConfig> ParseModelConfig(const std::string& config_json,
                                     const std::string& generation_config_json) {
  json j = json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Invalid("not a JSON object");
  ModelConfig c;
  auto archs = j.find("architectures");
  if (archs == j.end() || !archs->is_array() || archs->empty() || !(*archs)[0].is_string()) {
    return Invalid("missing architectures");
  }
  c.architecture = (*archs)[0].get<std::string>();
  if (c.architecture == "LlamaForCausalLM") {
    c.arch = Arch::kLlama;
  } else if (c.architecture == "MistralForCausalLM") {
    c.arch = Arch::kMistral;
  } else if (c.architecture == "Qwen2ForCausalLM") {
    c.arch = Arch::kQwen2;
  } else if (c.architecture == "Qwen3ForCausalLM") {
    c.arch = Arch::kQwen3;
  } else {
    return Unimplemented("config.json: architecture " + c.architecture +
                         " is not supported (Llama, Mistral, Qwen2, Qwen3 are)");
  }
  constexpr int32_t kMaxDim = 1 << 20;
  ASSIGN_OR_RETURN(c.vocab_size, GetInt(j, "vocab_size", true, 0, 1, 1 << 24));
  ASSIGN_OR_RETURN(c.hidden_size, GetInt(j, "hidden_size", true, 0, 1, kMaxDim));
  ASSIGN_OR_RETURN(c.intermediate_size, GetInt(j, "intermediate_size", true, 0, 1, kMaxDim));
  ASSIGN_OR_RETURN(c.num_layers, GetInt(j, "num_hidden_layers", true, 0, 1, 4096));
  ASSIGN_OR_RETURN(c.num_heads, GetInt(j, "num_attention_heads", true, 0, 1, 4096));
  ASSIGN_OR_RETURN(c.num_kv_heads,
                   GetInt(j, "num_key_value_heads", false, c.num_heads, 1, c.num_heads));
  if (c.num_heads % c.num_kv_heads != 0) {
    return Invalid("num_attention_heads must be a multiple of num_key_value_heads");
  }
  int32_t default_head_dim = c.hidden_size / c.num_heads;
  ASSIGN_OR_RETURN(c.head_dim, GetInt(j, "head_dim", false, default_head_dim, 2, 4096));
  if (c.head_dim % 2 != 0) return Invalid("head_dim must be even for rotary embeddings");
  ASSIGN_OR_RETURN(c.rms_norm_eps, GetFloat(j, "rms_norm_eps", 1e-6f));
  ASSIGN_OR_RETURN(c.max_position_embeddings,
                   GetInt(j, "max_position_embeddings", false, 4096, 1, 1 << 30));
  RETURN_IF_ERROR(ParseRope(j, &c.rope));
  if (auto it = j.find("tie_word_embeddings"); it != j.end() && it->is_boolean()) {
    c.tie_word_embeddings = it->get<bool>();
  }
  c.attention_bias = c.arch == Arch::kQwen2;
  if (auto it = j.find("attention_bias"); it != j.end() && it->is_boolean()) {
    c.attention_bias = it->get<bool>() || c.arch == Arch::kQwen2;
  }
  c.qk_norm = c.arch == Arch::kQwen3;
  if (auto it = j.find("hidden_act"); it != j.end() && it->is_string() && *it != "silu") {
    return Unimplemented("config.json: hidden_act " + it->dump() + " is not supported (silu is)");
  }
  if (auto it = j.find("sliding_window"); it != j.end() && it->is_number_integer()) {
    bool enabled = true;
    if (auto u = j.find("use_sliding_window"); u != j.end() && u->is_boolean()) {
      enabled = u->get<bool>();
    }
    if (enabled && c.arch == Arch::kMistral && it->get<int64_t>() < c.max_position_embeddings) {
      return Unimplemented("config.json: sliding-window attention is not supported");
    }
  }
  for (const char* key : {"dtype", "torch_dtype"}) {
    if (auto it = j.find(key); it != j.end() && it->is_string()) {
      c.dtype = it->get<std::string>();
      break;
    }
  }
  RETURN_IF_ERROR(ParseQuantization(j, &c));
  ASSIGN_OR_RETURN(c.bos_token_id, GetInt(j, "bos_token_id", false, -1, 0, INT32_MAX));
  RETURN_IF_ERROR(ParseEosIds(j, &c.eos_token_ids));
  if (!generation_config_json.empty()) {
    json g = json::parse(generation_config_json, nullptr, /*allow_exceptions=*/false);
    if (g.is_discarded() || !g.is_object()) {
      return InvalidArgument("generation_config.json: not a JSON object");
    }
    RETURN_IF_ERROR(ParseEosIds(g, &c.eos_token_ids));
  }
  return c;
}

Result<ModelConfig> LoadModelConfig(const std::string& model_dir) {
  ASSIGN_OR_RETURN(std::string config, ReadFileToString(model_dir + "/config.json", 16u << 20));
  std::string generation;
  auto gen = ReadFileToString(model_dir + "/generation_config.json", 16u << 20);
  if (gen.ok()) {
    generation = std::move(*gen);
  } else if (gen.status().code() != StatusCode::kNotFound) {
    return gen.status();
  }
  return ParseModelConfig(config, generation);
}

}  // namespace ts
