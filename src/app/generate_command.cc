// `tierserve generate`: offline generation for one prompt through the engine loop the server
// uses, streamed to stdout, then prompt and generation speed on stderr.
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>
#include <sstream>
#include <thread>

#include "app/commands.h"
#include "base/file_system.h"
#include "base/log.h"
#include "engine/engine.h"
#include "model/model.h"
#include "server/chat_prompt.h"
#include "text/jinja/chat_template.h"
#include "text/tokenizer.h"

namespace ts::app {
namespace {

struct GenerateFlags {
  std::string model, prompt, prompt_ids;
  std::string device = "cpu";
  ModelOptions model_options;
  int32_t max_tokens = 64;
  int32_t threads = 0;
  int32_t prefill_chunk = 512;
  int32_t block_size = 16;
  std::string kv_dtype = "bf16";
  bool ignore_eos = false;
  bool chat = false;  // wrap --prompt as one user message in the model's chat template
  SamplingParams sampling;
  uint64_t seed = 0;
  bool has_seed = false;
};

Result<std::vector<int32_t>> ParseIds(const std::string& text) {
  std::vector<int32_t> ids;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      long v = std::stol(item, &used);
      if (used != item.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument(item);
      ids.push_back(static_cast<int32_t>(v));
    } catch (const std::exception&) {
      return InvalidArgument("--prompt-ids: '" + item + "' is not a token id");
    }
  }
  return ids;
}

Status Run(const GenerateFlags& f) {
  ASSIGN_OR_RETURN(const Device device, ParseDevice(f.device));
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, LoadModel(f.model, device, f.model_options));
  const ModelConfig config = model->config();
  std::unique_ptr<text::Tokenizer> tokenizer;
  if (auto t = text::Tokenizer::Load(f.model); t.ok()) {
    tokenizer = std::make_unique<text::Tokenizer>(std::move(*t));
  } else if (!f.prompt.empty()) {
    return t.status().WithContext("--prompt needs the model's tokenizer");
  }
  GenerationRequest request;
  if (!f.prompt_ids.empty()) {
    ASSIGN_OR_RETURN(request.prompt, ParseIds(f.prompt_ids));
  } else if (f.chat) {
    ASSIGN_OR_RETURN(jinja::ChatTemplate chat_template, jinja::ChatTemplate::Load(f.model));
    server::ChatPrompt chat(tokenizer.get(), std::move(chat_template),
                            /*allow_special_in_content=*/false);
    nlohmann::ordered_json messages = {{{"role", "user"}, {"content", f.prompt}}};
    ASSIGN_OR_RETURN(request.prompt, chat.EncodeChat(messages, /*add_generation_prompt=*/true,
                                                     nlohmann::ordered_json::object()));
  } else {
    ASSIGN_OR_RETURN(request.prompt, tokenizer->Encode(f.prompt, {.add_special = true}));
  }
  request.sampling = f.sampling;
  request.max_tokens = f.max_tokens;
  request.ignore_eos = f.ignore_eos;
  request.skip_special_tokens = false;

  // The same engine loop the server runs, sized for this one request.
  EngineOptions options;
  options.threads = f.threads;
  options.block_size = f.block_size;
  options.kv_dtype = f.kv_dtype == "f32"   ? KvDtype::kF32
                     : f.kv_dtype == "f16" ? KvDtype::kF16
                                           : KvDtype::kBf16;
  const int64_t total = static_cast<int64_t>(request.prompt.size()) + f.max_tokens;
  options.num_blocks = static_cast<int32_t>((total + f.block_size - 1) / f.block_size);
  options.max_num_batched_tokens = f.prefill_chunk;
  options.max_model_len =
      static_cast<int32_t>(std::max<int64_t>(total, config.max_position_embeddings));
  PosixFileSystem fs;
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine,
                   Engine::Create(options, std::move(model), tokenizer.get(), &fs));
  using Clock = std::chrono::steady_clock;
  ASSIGN_OR_RETURN(std::shared_ptr<RequestStream> stream, engine->Submit(std::move(request)));
  int32_t generated = 0;
  Usage usage;
  for (;;) {
    auto chunk = stream->Next(Clock::now() + std::chrono::hours(24));
    if (!chunk) continue;
    generated += static_cast<int32_t>(chunk->token_ids.size());
    std::string out = chunk->text;
    if (!tokenizer) {
      for (int32_t id : chunk->token_ids) out += std::to_string(id) + " ";
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    if (chunk->finish != FinishReason::kNone) {
      usage = chunk->usage;
      if (chunk->finish == FinishReason::kError) return chunk->error;
      break;
    }
  }
  std::printf("\n");
  std::fprintf(stderr, "prompt: %d tokens, %.1f tokens/s | generation: %d tokens, %.1f tokens/s\n",
               usage.prompt_tokens, usage.prompt_tokens / usage.prefill_seconds, generated,
               generated > 1 ? (generated - 1) / usage.decode_seconds : 0.0);
  return Status::Ok();
}

}  // namespace

void RegisterGenerateCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<GenerateFlags>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text for one prompt, offline");
  cmd->add_option("--model", f->model, "Model folder")->required();
  cmd->add_option("--device", f->device, "cpu or cuda (CUDA builds)")->capture_default_str();
  AddModelOptionFlags(cmd, &f->model_options);
  auto* p = cmd->add_option("--prompt", f->prompt, "Prompt text (needs the tokenizer)");
  auto* ids = cmd->add_option("--prompt-ids", f->prompt_ids, "Prompt as token ids: 1,2,3");
  p->excludes(ids);
  cmd->add_option("--max-tokens", f->max_tokens, "Tokens to generate")->capture_default_str();
  cmd->add_option("--threads", f->threads, "Worker threads (default: all cores)");
  cmd->add_option("--prefill-chunk", f->prefill_chunk, "Prompt tokens per forward pass")
      ->capture_default_str();
  cmd->add_option("--block-size", f->block_size, "KV block size in tokens")->capture_default_str();
  cmd->add_option("--kv-dtype", f->kv_dtype, "KV cache dtype: bf16, f16, f32")
      ->capture_default_str();
  cmd->add_option("--temperature", f->sampling.temperature, "0 for greedy")->capture_default_str();
  cmd->add_option("--top-p", f->sampling.top_p)->capture_default_str();
  cmd->add_option("--top-k", f->sampling.top_k, "0: off")->capture_default_str();
  cmd->add_option("--min-p", f->sampling.min_p)->capture_default_str();
  cmd->add_option("--repetition-penalty", f->sampling.repetition_penalty)->capture_default_str();
  cmd->add_option("--presence-penalty", f->sampling.presence_penalty)->capture_default_str();
  cmd->add_option("--frequency-penalty", f->sampling.frequency_penalty)->capture_default_str();
  cmd->add_option("--seed", f->seed, "Sampling seed");
  cmd->add_flag("--ignore-eos", f->ignore_eos, "Keep generating past end-of-sequence tokens");
  cmd->add_flag("--chat", f->chat, "Send --prompt as a user message through the chat template");
  cmd->callback([f, cmd, exit_code] {
    if (f->prompt.empty() && f->prompt_ids.empty()) {
      LOG(ERROR) << "generate: give --prompt or --prompt-ids";
      *exit_code = 2;
      return;
    }
    f->has_seed = cmd->count("--seed") > 0;
    if (f->has_seed) f->sampling.seed = f->seed;
    Status s = Run(*f);
    if (!s.ok()) {
      LOG(ERROR) << "generate: " << s.ToString();
      *exit_code = 1;
    }
  });
}

}  // namespace ts::app
