// `tierserve generate`: offline generation for one prompt, streamed to stdout, then prompt and
// generation speed on stderr.
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>
#include <sstream>
#include <thread>

#include "app/commands.h"
#include "base/log.h"
#include "engine/sampler.h"
#include "engine/step_builder.h"
#include "kv/kv_storage.h"
#include "model/llama_model.h"
#include "text/incremental_detokenizer.h"
#include "text/tokenizer.h"

namespace ts::app {
namespace {

struct GenerateFlags {
  std::string model, prompt, prompt_ids;
  int32_t max_tokens = 64;
  int32_t threads = 0;
  int32_t prefill_chunk = 512;
  int32_t block_size = 16;
  std::string kv_dtype = "bf16";
  bool ignore_eos = false;
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
  ASSIGN_OR_RETURN(std::unique_ptr<LlamaModel> model, LlamaModel::Load(f.model));
  const ModelConfig& config = model->config();
  std::optional<text::Tokenizer> tokenizer;
  if (auto t = text::Tokenizer::Load(f.model); t.ok()) {
    tokenizer.emplace(std::move(*t));
  } else if (!f.prompt.empty()) {
    return t.status().WithContext("--prompt needs the model's tokenizer");
  }
  std::vector<int32_t> prompt;
  if (!f.prompt_ids.empty()) {
    ASSIGN_OR_RETURN(prompt, ParseIds(f.prompt_ids));
  } else {
    ASSIGN_OR_RETURN(prompt, tokenizer->Encode(f.prompt, {.add_special = true}));
  }
  if (prompt.empty()) return InvalidArgument("the prompt is empty");
  for (int32_t id : prompt) {
    if (id >= config.vocab_size) return InvalidArgument("token id " + std::to_string(id) + " is out of range");
  }
  RETURN_IF_ERROR(f.sampling.Validate(config.vocab_size));
  KvDtype kv_dtype = f.kv_dtype == "f32" ? KvDtype::kF32 : f.kv_dtype == "f16" ? KvDtype::kF16 : KvDtype::kBf16;
  const int32_t total = static_cast<int32_t>(prompt.size()) + f.max_tokens;
  const int32_t num_blocks = (total + f.block_size - 1) / f.block_size;
  ASSIGN_OR_RETURN(KvStorage storage,
                   KvStorage::Create(model->MakeKvLayout(f.block_size, kv_dtype), num_blocks));
  std::vector<int32_t> blocks(static_cast<size_t>(num_blocks));
  std::iota(blocks.begin(), blocks.end(), 0);
  const int threads = f.threads > 0 ? f.threads : static_cast<int>(std::thread::hardware_concurrency());
  ThreadPool pool(threads);

  SamplerState sampler(f.sampling, f.has_seed ? f.seed : std::random_device{}());
  sampler.AddPromptTokens(prompt);
  std::optional<text::IncrementalDetokenizer> detok;
  if (tokenizer) detok.emplace(*tokenizer, /*skip_special=*/false);
  std::vector<float> logits(static_cast<size_t>(config.vocab_size));
  StepBuilder step;
  using Clock = std::chrono::steady_clock;

  // Prefill in chunks; logits only for the last prompt token.
  auto t0 = Clock::now();
  for (size_t done = 0; done < prompt.size();) {
    const size_t n = std::min<size_t>(static_cast<size_t>(f.prefill_chunk), prompt.size() - done);
    step.Reset(f.block_size, num_blocks);
    step.AddSequence(std::span(prompt).subspan(done, n), static_cast<int32_t>(done), blocks,
                     /*want_logits=*/done + n == prompt.size());
    RETURN_IF_ERROR(model->Forward(step.batch(), storage.view(), logits.data(), pool));
    done += n;
  }
  auto t1 = Clock::now();
  int32_t generated = 0;
  int32_t context = static_cast<int32_t>(prompt.size());
  for (;;) {
    SampledToken tok = sampler.Sample(logits.data(), config.vocab_size);
    sampler.AddOutputToken(tok.token);
    ++generated;
    std::string piece = detok ? detok->Push(tok.token) : std::to_string(tok.token) + " ";
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    const bool is_eos = std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(),
                                  tok.token) != config.eos_token_ids.end();
    if (generated >= f.max_tokens || (is_eos && !f.ignore_eos)) break;
    step.Reset(f.block_size, num_blocks);
    step.AddSequence(std::span(&tok.token, 1), context, blocks, /*want_logits=*/true);
    RETURN_IF_ERROR(model->Forward(step.batch(), storage.view(), logits.data(), pool));
    ++context;
  }
  if (detok) {
    std::string rest = detok->Finish();
    std::fwrite(rest.data(), 1, rest.size(), stdout);
  }
  std::printf("\n");
  auto t2 = Clock::now();
  const double prefill_s = std::chrono::duration<double>(t1 - t0).count();
  const double decode_s = std::chrono::duration<double>(t2 - t1).count();
  std::fprintf(stderr, "prompt: %zu tokens, %.1f tokens/s | generation: %d tokens, %.1f tokens/s\n",
               prompt.size(), static_cast<double>(prompt.size()) / prefill_s, generated,
               generated > 1 ? (generated - 1) / decode_s : 0.0);
  return Status::Ok();
}

}  // namespace

void RegisterGenerateCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<GenerateFlags>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text for one prompt, offline");
  cmd->add_option("--model", f->model, "Model folder")->required();
  auto* p = cmd->add_option("--prompt", f->prompt, "Prompt text (needs the tokenizer)");
  auto* ids = cmd->add_option("--prompt-ids", f->prompt_ids, "Prompt as token ids: 1,2,3");
  p->excludes(ids);
  cmd->add_option("--max-tokens", f->max_tokens, "Tokens to generate")->capture_default_str();
  cmd->add_option("--threads", f->threads, "Worker threads (default: all cores)");
  cmd->add_option("--prefill-chunk", f->prefill_chunk, "Prompt tokens per forward pass")
      ->capture_default_str();
  cmd->add_option("--block-size", f->block_size, "KV block size in tokens")->capture_default_str();
  cmd->add_option("--kv-dtype", f->kv_dtype, "KV cache dtype: bf16, f16, f32")->capture_default_str();
  cmd->add_option("--temperature", f->sampling.temperature, "0 for greedy")->capture_default_str();
  cmd->add_option("--top-p", f->sampling.top_p)->capture_default_str();
  cmd->add_option("--top-k", f->sampling.top_k, "0: off")->capture_default_str();
  cmd->add_option("--min-p", f->sampling.min_p)->capture_default_str();
  cmd->add_option("--repetition-penalty", f->sampling.repetition_penalty)->capture_default_str();
  cmd->add_option("--presence-penalty", f->sampling.presence_penalty)->capture_default_str();
  cmd->add_option("--frequency-penalty", f->sampling.frequency_penalty)->capture_default_str();
  cmd->add_option("--seed", f->seed, "Sampling seed");
  cmd->add_flag("--ignore-eos", f->ignore_eos, "Keep generating past end-of-sequence tokens");
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
