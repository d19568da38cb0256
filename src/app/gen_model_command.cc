// `tierserve gen-model`: writes a random-weight model folder (model/random_model.h).
#include "app/commands.h"
#include "base/log.h"
#include "model/model_folder_writer.h"
#include "model/random_model.h"

namespace ts::app {

void RegisterGenModelCommand(CLI::App& app, int* exit_code) {
  struct Flags {
    std::string preset = "tiny", arch, dtype = "bf16", quant, tokenizer, out;
    int32_t group_size = 64;
    uint64_t seed = 0;
    int32_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_layers = 0, num_heads = 0,
            num_kv_heads = 0, head_dim = 0;
    std::string tie;
    float rope_theta = 0.f, rope_scaling_factor = 0.f;
    uint64_t shard_mb = 4096;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("gen-model", "Write a random-weight model folder");
  cmd->add_option("--preset", flags->preset,
                  "Shape preset: tiny, qwen3-0.6b, qwen3-1.7b, qwen3-4b, qwen3-8b, llama3-8b")
      ->capture_default_str();
  cmd->add_option("--arch", flags->arch, "Override the architecture: llama, mistral, qwen2, qwen3");
  cmd->add_option("--dtype", flags->dtype, "Weight dtype: bf16, f16, f32")->capture_default_str();
  cmd->add_option("--quant", flags->quant, "MLX quantization: q4 or q8 (default: none)");
  cmd->add_option("--group-size", flags->group_size, "Quantization group size: 32, 64, 128")
      ->capture_default_str();
  cmd->add_option("--tokenizer", flags->tokenizer,
                  "Folder with tokenizer.json etc. to copy (the vocabulary grows to fit it)");
  cmd->add_option("--out", flags->out, "Output folder")->required();
  cmd->add_option("--seed", flags->seed, "Seed: the same seed writes the same bytes")
      ->capture_default_str();
  cmd->add_option("--vocab-size", flags->vocab_size, "Override vocab_size");
  cmd->add_option("--hidden-size", flags->hidden_size, "Override hidden_size");
  cmd->add_option("--intermediate-size", flags->intermediate_size, "Override intermediate_size");
  cmd->add_option("--num-layers", flags->num_layers, "Override num_hidden_layers");
  cmd->add_option("--num-heads", flags->num_heads, "Override num_attention_heads");
  cmd->add_option("--num-kv-heads", flags->num_kv_heads, "Override num_key_value_heads");
  cmd->add_option("--head-dim", flags->head_dim, "Override head_dim");
  cmd->add_option("--tie-embeddings", flags->tie, "Override tie_word_embeddings: true or false");
  cmd->add_option("--rope-theta", flags->rope_theta, "Override rope_theta");
  cmd->add_option("--rope-scaling-factor", flags->rope_scaling_factor,
                  "Llama 3 rope scaling with this factor (low 1, high 4, original 8192)");
  cmd->add_option("--shard-size-mb", flags->shard_mb, "Largest safetensors shard, in MiB")
      ->capture_default_str();
  cmd->callback([flags, exit_code] {
    const Flags& f = *flags;
    auto fail = [&](const Status& s) {
      LOG(ERROR) << "gen-model: " << s.ToString();
      *exit_code = 1;
    };
    auto shape = PresetShape(f.preset);
    if (!shape.ok()) return fail(shape.status());
    GenModelOptions o;
    o.shape = *shape;
    if (!f.arch.empty()) {
      auto arch = ArchFromName(f.arch);
      if (!arch.ok()) return fail(arch.status());
      o.shape.arch = *arch;
    }
    for (auto [value, field] : {std::pair{f.vocab_size, &o.shape.vocab_size},
                                {f.hidden_size, &o.shape.hidden_size},
                                {f.intermediate_size, &o.shape.intermediate_size},
                                {f.num_layers, &o.shape.num_layers},
                                {f.num_heads, &o.shape.num_heads},
                                {f.num_kv_heads, &o.shape.num_kv_heads},
                                {f.head_dim, &o.shape.head_dim}}) {
      if (value > 0) *field = value;
    }
    if (!f.tie.empty()) o.shape.tie_word_embeddings = f.tie == "true";
    if (f.rope_theta > 0) o.shape.rope.theta = f.rope_theta;
    if (f.rope_scaling_factor > 0) {
      o.shape.rope.llama3_factor = f.rope_scaling_factor;
      o.shape.rope.llama3_low_freq_factor = 1.f;
      o.shape.rope.llama3_high_freq_factor = 4.f;
      o.shape.rope.llama3_original_max_position = 8192;
    }
    auto dtype = FloatDTypeFromName(f.dtype);
    if (!dtype.ok()) return fail(dtype.status());
    o.dtype = *dtype;
    if (!f.quant.empty()) {
      if (f.quant != "q4" && f.quant != "q8") return fail(InvalidArgument("--quant is q4 or q8"));
      o.quant.bits = f.quant == "q4" ? 4 : 8;
      o.quant.group_size = f.group_size;
    }
    o.seed = f.seed;
    o.tokenizer_dir = f.tokenizer;
    o.out_dir = f.out;
    o.max_shard_bytes = f.shard_mb << 20;
    Status s = GenerateRandomModel(o);
    if (!s.ok()) return fail(s);
    LOG(INFO) << "wrote " << f.out;
  });
}

}  // namespace ts::app
