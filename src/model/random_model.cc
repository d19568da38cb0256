#include "model/random_model.h"

#include <sys/stat.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/mapped_file.h"
#include "model/model_folder_writer.h"

namespace ts {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t HashName(const std::string& name, uint64_t seed) {
  uint64_t h = SplitMix64(seed);
  for (unsigned char c : name) h = SplitMix64(h ^ c);
  return h;
}

// n values uniform in [center - half_width, center + half_width), from integer hashing only.
std::vector<float> UniformValues(const std::string& name, uint64_t seed, size_t n, float center,
                                 float half_width) {
  std::vector<float> v(n);
  uint64_t state = HashName(name, seed);
  for (size_t i = 0; i < n; ++i) {
    state = SplitMix64(state);
    const float unit = static_cast<float>(state >> 40) * (1.f / 16777216.f);  // [0, 1)
    v[i] = center + (2.f * unit - 1.f) * half_width;
  }
  return v;
}

// Uniform with standard deviation `std`: half width std * sqrt(3).
std::function<std::vector<float>()> Random(const std::string& name, uint64_t seed, size_t n,
                                           float std) {
  return [=] { return UniformValues(name, seed, n, 0.f, std * std::sqrt(3.f)); };
}

const char* ArchClass(Arch a) {
  switch (a) {
    case Arch::kLlama: return "LlamaForCausalLM";
    case Arch::kMistral: return "MistralForCausalLM";
    case Arch::kQwen2: return "Qwen2ForCausalLM";
    case Arch::kQwen3: return "Qwen3ForCausalLM";
  }
  return "";
}

const char* ModelType(Arch a) {
  switch (a) {
    case Arch::kLlama: return "llama";
    case Arch::kMistral: return "mistral";
    case Arch::kQwen2: return "qwen2";
    case Arch::kQwen3: return "qwen3";
  }
  return "";
}

// Size of the tokenizer's id space: 1 + the largest id in the vocab and added tokens.
Result<int32_t> TokenizerIdSpace(const std::string& dir) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(dir + "/tokenizer.json", 256u << 20));
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument(dir + "/tokenizer.json: bad JSON");
  int64_t max_id = -1;
  if (auto m = j.find("model"); m != j.end() && m->contains("vocab")) {
    const auto& vocab = (*m)["vocab"];
    if (vocab.is_object()) {
      for (const auto& [tok, id] : vocab.items()) {
        if (id.is_number_integer()) max_id = std::max<int64_t>(max_id, id.get<int64_t>());
      }
    } else if (vocab.is_array()) {  // Unigram: [[piece, score], ...]
      max_id = static_cast<int64_t>(vocab.size()) - 1;
    }
  }
  if (auto a = j.find("added_tokens"); a != j.end() && a->is_array()) {
    for (const auto& t : *a) {
      if (t.contains("id") && t["id"].is_number_integer()) {
        max_id = std::max<int64_t>(max_id, t["id"].get<int64_t>());
      }
    }
  }
  if (max_id < 0) return InvalidArgument(dir + "/tokenizer.json: no vocabulary");
  return static_cast<int32_t>(max_id + 1);
}

// Id of a special token string from tokenizer.json's added tokens, or -1.
int32_t AddedTokenId(const nlohmann::json& tokenizer, const std::string& content) {
  if (auto a = tokenizer.find("added_tokens"); a != tokenizer.end() && a->is_array()) {
    for (const auto& t : *a) {
      if (t.value("content", "") == content && t.contains("id")) return t["id"].get<int32_t>();
    }
  }
  return -1;
}

std::string TokenString(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content")) return v["content"].get<std::string>();
  return "";
}

// bos/eos ids from the tokenizer files (eos also <|endoftext|>/<|eot_id|> when present, as
// the real generation_config.json files of Qwen and Llama list them).
void TokenizerSpecialIds(const std::string& dir, int32_t* bos, std::vector<int32_t>* eos) {
  auto tok_text = ReadFileToString(dir + "/tokenizer.json", 256u << 20);
  auto cfg_text = ReadFileToString(dir + "/tokenizer_config.json", 64u << 20);
  if (!tok_text.ok() || !cfg_text.ok()) return;
  auto tok = nlohmann::json::parse(*tok_text, nullptr, false);
  auto cfg = nlohmann::json::parse(*cfg_text, nullptr, false);
  if (tok.is_discarded() || cfg.is_discarded()) return;
  if (cfg.contains("bos_token")) *bos = AddedTokenId(tok, TokenString(cfg["bos_token"]));
  if (cfg.contains("eos_token")) {
    int32_t id = AddedTokenId(tok, TokenString(cfg["eos_token"]));
    if (id >= 0) eos->push_back(id);
  }
  for (const char* extra : {"<|endoftext|>", "<|eot_id|>", "<|end_of_text|>"}) {
    int32_t id = AddedTokenId(tok, extra);
    if (id >= 0 && std::find(eos->begin(), eos->end(), id) == eos->end()) eos->push_back(id);
  }
}

}  // namespace

Result<Arch> ArchFromName(const std::string& name) {
  if (name == "llama") return Arch::kLlama;
  if (name == "mistral") return Arch::kMistral;
  if (name == "qwen2") return Arch::kQwen2;
  if (name == "qwen3") return Arch::kQwen3;
  return InvalidArgument("unknown architecture '" + name + "' (llama, mistral, qwen2, qwen3)");
}

Result<ModelShape> PresetShape(const std::string& preset) {
  ModelShape s;
  auto qwen3 = [&](int32_t hidden, int32_t inter, int32_t layers, int32_t heads, bool tie) {
    s.arch = Arch::kQwen3;
    s.vocab_size = 151936;
    s.hidden_size = hidden;
    s.intermediate_size = inter;
    s.num_layers = layers;
    s.num_heads = heads;
    s.num_kv_heads = 8;
    s.head_dim = 128;
    s.tie_word_embeddings = tie;
    s.max_position_embeddings = 40960;
    s.rope.theta = 1000000.f;
  };
  if (preset == "tiny") {
    s.arch = Arch::kQwen3;
    s.vocab_size = 512;
    s.hidden_size = 128;
    s.intermediate_size = 384;
    s.num_layers = 2;
    s.num_heads = 4;
    s.num_kv_heads = 2;
    s.head_dim = 32;
    s.tie_word_embeddings = true;
    s.rope.theta = 1000000.f;
  } else if (preset == "qwen3-0.6b") {
    qwen3(1024, 3072, 28, 16, true);
  } else if (preset == "qwen3-1.7b") {
    qwen3(2048, 6144, 28, 16, true);
  } else if (preset == "qwen3-4b") {
    qwen3(2560, 9728, 36, 32, true);
  } else if (preset == "qwen3-8b") {
    qwen3(4096, 12288, 36, 32, false);
  } else if (preset == "llama3-8b") {
    s.arch = Arch::kLlama;
    s.vocab_size = 128256;
    s.hidden_size = 4096;
    s.intermediate_size = 14336;
    s.num_layers = 32;
    s.num_heads = 32;
    s.num_kv_heads = 8;
    s.head_dim = 128;
    s.max_position_embeddings = 131072;
    s.rope.theta = 500000.f;
    s.rope.llama3_factor = 8.f;
    s.rope.llama3_low_freq_factor = 1.f;
    s.rope.llama3_high_freq_factor = 4.f;
    s.rope.llama3_original_max_position = 8192;
  } else {
    return InvalidArgument("unknown preset '" + preset +
                           "' (tiny, qwen3-0.6b, qwen3-1.7b, qwen3-4b, qwen3-8b, llama3-8b)");
  }
  return s;
}

Status GenerateRandomModel(const GenModelOptions& o) {
  ModelShape s = o.shape;
  if (s.hidden_size <= 0 || s.num_layers <= 0 || s.num_heads <= 0 || s.num_kv_heads <= 0 ||
      s.head_dim <= 0 || s.head_dim % 2 != 0 || s.num_heads % s.num_kv_heads != 0 ||
      s.intermediate_size <= 0 || s.vocab_size <= 0) {
    return InvalidArgument("inconsistent model shape");
  }
  int32_t bos = -1;
  std::vector<int32_t> eos;
  if (!o.tokenizer_dir.empty()) {
    ASSIGN_OR_RETURN(int32_t id_space, TokenizerIdSpace(o.tokenizer_dir));
    if (s.vocab_size < id_space) s.vocab_size = (id_space + 127) / 128 * 128;
    TokenizerSpecialIds(o.tokenizer_dir, &bos, &eos);
  }
  if (eos.empty()) eos.push_back(s.vocab_size - 1);
  if (::mkdir(o.out_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return IoError("cannot create " + o.out_dir);
  }

  const int64_t H = s.hidden_size, I = s.intermediate_size, V = s.vocab_size, D = s.head_dim;
  const int64_t q_out = s.num_heads * D, kv_out = s.num_kv_heads * D;
  const float residual_scale = 1.f / std::sqrt(2.f * static_cast<float>(s.num_layers));
  const float embed_std = 2.f / std::sqrt(static_cast<float>(H));
  SafetensorsWriter w;
  const uint64_t seed = o.seed;
  auto matrix = [&](const std::string& module, int64_t rows, int64_t cols, float std) {
    AddMatrix(w, module, rows, cols, o.dtype, o.quant,
              Random(module, seed, static_cast<size_t>(rows * cols), std));
  };
  auto norm = [&](const std::string& name, int64_t n) {
    AddVector(w, name, o.dtype,
              [=] { return UniformValues(name, seed, static_cast<size_t>(n), 1.f, 0.1f); });
  };
  auto bias = [&](const std::string& name, int64_t n) {
    AddVector(w, name, o.dtype, Random(name, seed, static_cast<size_t>(n), 0.1f / std::sqrt(3.f)));
  };
  matrix("model.embed_tokens", V, H, embed_std);
  const bool qkv_bias = s.arch == Arch::kQwen2;
  for (int32_t l = 0; l < s.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    norm(p + "input_layernorm.weight", H);
    matrix(p + "self_attn.q_proj", q_out, H, 1.f / std::sqrt(static_cast<float>(H)));
    matrix(p + "self_attn.k_proj", kv_out, H, 1.f / std::sqrt(static_cast<float>(H)));
    matrix(p + "self_attn.v_proj", kv_out, H, 1.f / std::sqrt(static_cast<float>(H)));
    if (qkv_bias) {
      bias(p + "self_attn.q_proj.bias", q_out);
      bias(p + "self_attn.k_proj.bias", kv_out);
      bias(p + "self_attn.v_proj.bias", kv_out);
    }
    if (s.arch == Arch::kQwen3) {
      norm(p + "self_attn.q_norm.weight", D);
      norm(p + "self_attn.k_norm.weight", D);
    }
    matrix(p + "self_attn.o_proj", H, q_out,
           residual_scale / std::sqrt(static_cast<float>(q_out)));
    norm(p + "post_attention_layernorm.weight", H);
    matrix(p + "mlp.gate_proj", I, H, 1.f / std::sqrt(static_cast<float>(H)));
    matrix(p + "mlp.up_proj", I, H, 1.f / std::sqrt(static_cast<float>(H)));
    matrix(p + "mlp.down_proj", H, I, residual_scale / std::sqrt(static_cast<float>(I)));
  }
  norm("model.norm.weight", H);
  if (!s.tie_word_embeddings) matrix("lm_head", V, H, embed_std);
  LOG(INFO) << "writing " << (w.total_bytes() >> 20) << " MiB of weights to " << o.out_dir;
  RETURN_IF_ERROR(w.WriteFolder(o.out_dir, o.max_shard_bytes));

  nlohmann::ordered_json c;
  c["architectures"] = {ArchClass(s.arch)};
  c["model_type"] = ModelType(s.arch);
  c["vocab_size"] = s.vocab_size;
  c["hidden_size"] = s.hidden_size;
  c["intermediate_size"] = s.intermediate_size;
  c["num_hidden_layers"] = s.num_layers;
  c["num_attention_heads"] = s.num_heads;
  c["num_key_value_heads"] = s.num_kv_heads;
  c["head_dim"] = s.head_dim;
  c["hidden_act"] = "silu";
  c["max_position_embeddings"] = s.max_position_embeddings;
  c["rms_norm_eps"] = 1e-6;
  c["rope_theta"] = s.rope.theta;
  if (s.rope.llama3_factor > 0) {
    c["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", s.rope.llama3_factor},
                         {"low_freq_factor", s.rope.llama3_low_freq_factor},
                         {"high_freq_factor", s.rope.llama3_high_freq_factor},
                         {"original_max_position_embeddings", s.rope.llama3_original_max_position}};
  } else {
    c["rope_scaling"] = nullptr;
  }
  c["attention_bias"] = false;
  c["attention_dropout"] = 0.0;
  if (s.arch == Arch::kQwen2 || s.arch == Arch::kQwen3) {
    c["use_sliding_window"] = false;
    c["sliding_window"] = nullptr;
  }
  if (s.arch == Arch::kMistral) c["sliding_window"] = nullptr;
  c["tie_word_embeddings"] = s.tie_word_embeddings;
  c["torch_dtype"] = TorchDTypeName(o.dtype);
  c["use_cache"] = true;
  if (bos >= 0) c["bos_token_id"] = bos;
  c["eos_token_id"] = eos.size() == 1 ? nlohmann::ordered_json(eos[0]) : nlohmann::ordered_json(eos);
  if (o.quant.bits != 0) {
    c["quantization"] = {{"group_size", o.quant.group_size}, {"bits", o.quant.bits}};
    c["quantization_config"] = c["quantization"];
  }
  RETURN_IF_ERROR(WriteFileAtomically(o.out_dir + "/config.json", c.dump(2)));
  nlohmann::ordered_json g;
  if (bos >= 0) g["bos_token_id"] = bos;
  g["eos_token_id"] = eos;
  RETURN_IF_ERROR(WriteFileAtomically(o.out_dir + "/generation_config.json", g.dump(2)));
  if (!o.tokenizer_dir.empty()) RETURN_IF_ERROR(CopyTokenizerFiles(o.tokenizer_dir, o.out_dir));
  return Status::Ok();
}

}  // namespace ts
