// `tierserve serve`: the OpenAI-compatible HTTP server over one model (issue 6).
//
// Start-up: tokenizer and chat template, weights, engine, then the HTTP server; the effective
// configuration is logged once everything is known. Shutdown (SIGINT/SIGTERM): stop accepting,
// let in-flight requests run until --shutdown-timeout, end the rest with a well-formed final
// chunk, flush the SSD tier, exit 0. A second signal exits at once.
//
// Signals are blocked in every thread (the mask is set before any thread starts) and taken by
// one thread with sigwait, so the shutdown runs as ordinary code instead of in a handler.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "app/commands.h"
#include "app/tensor_parallel_group.h"
#include "base/file_system.h"
#include "base/log.h"
#include "engine/engine.h"
#include "engine/tensor_parallel_follower.h"
#include "model/model.h"
#include "server/byte_size.h"
#include "server/chat_prompt.h"
#include "server/http_server.h"
#include "server/openai_server.h"
#include "text/jinja/chat_template.h"
#include "text/tokenizer.h"

namespace ts::app {
namespace {

struct ServeFlags {
  std::string model;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string device = "cpu";
  ModelOptions model_options;
  double gpu_memory_utilization = 0.9;
  int32_t threads = 0;
  int32_t tensor_parallel = 1;
  std::string kv_cache_memory = "1GiB";
  int32_t num_blocks = 0;
  int32_t block_size = 16;
  std::string kv_dtype = "bf16";
  int32_t max_num_seqs = 64;
  int32_t max_num_batched_tokens = 512;
  int32_t max_model_len = 0;
  int32_t max_queue = 256;
  bool no_prefix_cache = false;
  std::string ssd_cache_dir;
  std::string ssd_cache_size = "0";
  int64_t ssd_cache_ttl = 0;
  std::string api_key;
  std::string served_model_name;
  std::string chat_template;
  double shutdown_timeout = 30;
  std::string max_body_size = "32MiB";
  int64_t request_timeout = 0;
  std::string reasoning_parser = "auto";
  std::string tool_call_parser = "auto";
  bool allow_special_tokens_in_content = false;
  int32_t max_n = 16;
  int32_t http_threads = 512;
};

std::string ReadFile(const std::string& path, Status* status) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *status = NotFound("cannot read " + path);
    return {};
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The model's chat template, or --chat-template's file with the model's bos/eos tokens.
Result<std::optional<jinja::ChatTemplate>> LoadChatTemplate(const ServeFlags& f) {
  if (f.chat_template.empty()) {
    Result<jinja::ChatTemplate> loaded = jinja::ChatTemplate::Load(f.model);
    if (loaded.ok()) return std::optional<jinja::ChatTemplate>(std::move(loaded).value());
    if (loaded.status().code() != StatusCode::kNotFound) return loaded.status();
    LOG(WARNING) << f.model << " has no chat template: /v1/chat/completions will refuse "
                 << "requests (give --chat-template FILE)";
    return std::optional<jinja::ChatTemplate>();
  }
  Status status;
  const std::string source = ReadFile(f.chat_template, &status);
  RETURN_IF_ERROR(status);
  nlohmann::ordered_json config = nullptr;
  Status config_status;
  const std::string config_text = ReadFile(f.model + "/tokenizer_config.json", &config_status);
  if (config_status.ok()) {
    config = nlohmann::ordered_json::parse(config_text, nullptr, /*allow_exceptions=*/false);
    if (config.is_discarded()) return InvalidArgument("tokenizer_config.json is not JSON");
  }
  ASSIGN_OR_RETURN(jinja::ChatTemplate chat, jinja::ChatTemplate::FromConfig(config, source));
  return std::optional<jinja::ChatTemplate>(std::move(chat));
}

Result<EngineOptions> MakeEngineOptions(const ServeFlags& f) {
  EngineOptions o;
  o.threads = f.threads;
  o.max_num_seqs = f.max_num_seqs;
  o.max_num_batched_tokens = f.max_num_batched_tokens;
  o.max_model_len = f.max_model_len;
  o.max_queue = f.max_queue;
  o.block_size = f.block_size;
  if (f.kv_dtype == "bf16") {
    o.kv_dtype = KvDtype::kBf16;
  } else if (f.kv_dtype == "f16") {
    o.kv_dtype = KvDtype::kF16;
  } else if (f.kv_dtype == "f32") {
    o.kv_dtype = KvDtype::kF32;
  } else {
    return InvalidArgument("--kv-dtype must be bf16, f16 or f32");
  }
  ASSIGN_OR_RETURN(o.kv_cache_memory_bytes, server::ParseByteSize(f.kv_cache_memory));
  o.gpu_memory_utilization = f.gpu_memory_utilization;
  o.num_blocks = f.num_blocks;
  o.prefix_caching = !f.no_prefix_cache;
  if (!f.ssd_cache_dir.empty()) {
    SsdCacheOptions ssd;
    ssd.dir = f.ssd_cache_dir;
    ASSIGN_OR_RETURN(ssd.max_bytes, server::ParseByteSize(f.ssd_cache_size));
    ssd.ttl_seconds = f.ssd_cache_ttl;
    ssd.now_seconds = [] {
      return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
    };
    o.ssd = std::move(ssd);
  }
  RETURN_IF_ERROR(o.Validate());
  return o;
}

void LogConfig(const ServeFlags& f, const EngineOptions& e, const Engine& engine,
               const server::OpenAiServerOptions& s, const server::HttpServerOptions& h) {
  const ModelConfig& c = engine.model_config();
  LOG(INFO) << "config: model=" << f.model << " (" << c.architecture << ", vocab " << c.vocab_size
            << ", " << c.num_layers << " layers) served-model-name=" << s.served_model_name;
  LOG(INFO) << "config: device=" << f.device << " threads=" << e.threads
            << " tensor-parallel=" << f.tensor_parallel << " max-num-seqs=" << e.max_num_seqs
            << " max-num-batched-tokens=" << e.max_num_batched_tokens
            << " max-model-len=" << engine.max_model_len() << " max-queue=" << e.max_queue;
  const KvCacheStats cache = engine.CacheStats();
  LOG(INFO) << "config: kv-dtype=" << f.kv_dtype << " block-size=" << e.block_size
            << " blocks=" << cache.ram_total_blocks << " ("
            << server::FormatByteSize(cache.ram_total_blocks * cache.block_bytes) << ")"
            << " ssd-cache-dir=" << (f.ssd_cache_dir.empty() ? "(off)" : f.ssd_cache_dir)
            << (e.ssd ? " ssd-cache-size=" + server::FormatByteSize(e.ssd->max_bytes) +
                            " ssd-cache-ttl=" + std::to_string(e.ssd->ttl_seconds) + "s"
                      : "");
  LOG(INFO) << "config: api-key=" << (s.api_key.empty() ? "(none)" : "(set)")
            << " max-body-size=" << server::FormatByteSize(static_cast<int64_t>(h.max_body_bytes))
            << " request-timeout=" << s.request_timeout.count() << "s"
            << " shutdown-timeout=" << f.shutdown_timeout << "s"
            << " reasoning-parser=" << (s.reasoning_parser ? "qwen3" : "none")
            << " allow-special-tokens-in-content=" << f.allow_special_tokens_in_content
            << " max-n=" << s.limits.max_n << " http-threads=" << h.num_threads;
}

// Serves on rank 0 of `group` (null: a single rank); other ranks follow rank 0's steps.
Status ServeOn(const ServeFlags& f, Communicator* group, const sigset_t& signals) {
  ASSIGN_OR_RETURN(const Device device, ParseDevice(f.device));
  ASSIGN_OR_RETURN(EngineOptions engine_options, MakeEngineOptions(f));
  engine_options.threads = ThreadsPerRank(f.threads, group);
  ModelOptions model_options = f.model_options;
  model_options.communicator = group;

  server::HttpServerOptions http_options;
  http_options.host = f.host;
  http_options.port = f.port;
  http_options.num_threads = f.http_threads;
  ASSIGN_OR_RETURN(const int64_t max_body, server::ParseByteSize(f.max_body_size));
  http_options.max_body_bytes = static_cast<size_t>(max_body);
  RETURN_IF_ERROR(http_options.Validate());
  if (f.max_n < 1) return InvalidArgument("--max-n must be >= 1");
  if (f.reasoning_parser != "auto" && f.reasoning_parser != "qwen3" &&
      f.reasoning_parser != "none") {
    return InvalidArgument("--reasoning-parser must be auto, qwen3 or none");
  }

  const auto t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(text::Tokenizer tokenizer, text::Tokenizer::Load(f.model));
  ASSIGN_OR_RETURN(std::optional<jinja::ChatTemplate> chat_template, LoadChatTemplate(f));
  LOG(INFO) << "loading weights from " << f.model;
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, LoadModel(f.model, device, model_options));
  if (group != nullptr && !group->is_leader()) {
    ThreadPool pool(engine_options.threads);
    LOG(INFO) << "rank " << group->rank() << " of " << group->size() << " (pid " << getpid()
              << "): following rank 0";
    PosixFileSystem fs;
    return RunTensorParallelFollower(*model, *group, pool, &fs);
  }
  const std::string architecture = model->config().architecture;
  PosixFileSystem fs;
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine,
                   Engine::Create(engine_options, std::move(model), &tokenizer, &fs));
  LOG(INFO) << "model and engine ready in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s";

  server::ChatPrompt prompt(&tokenizer, std::move(chat_template),
                            f.allow_special_tokens_in_content);
  server::OpenAiServerOptions options;
  options.served_model_name = f.served_model_name;
  if (options.served_model_name.empty()) {
    const size_t slash = f.model.find_last_not_of('/');
    const std::string trimmed = f.model.substr(0, slash + 1);
    options.served_model_name = trimmed.substr(trimmed.find_last_of('/') + 1);
  }
  options.api_key = f.api_key;
  options.limits.max_n = f.max_n;
  options.request_timeout = std::chrono::seconds(f.request_timeout);
  options.reasoning_parser = f.reasoning_parser == "qwen3" ||
                             (f.reasoning_parser == "auto" && architecture.starts_with("Qwen3"));
  options.max_body_bytes = http_options.max_body_bytes;
  if (f.tool_call_parser == "auto") {
    Status read;
    const std::string source =
        f.chat_template.empty() ? tokenizer.chat_template() : ReadFile(f.chat_template, &read);
    RETURN_IF_ERROR(read);
    options.tool_call_format = server::DetectToolCallFormat(source);
  } else {
    ASSIGN_OR_RETURN(server::ToolCallFormat format,
                     server::ParseToolCallFormat(f.tool_call_parser));
    options.tool_call_format = format;
  }
  server::HttpServer http(http_options);
  server::OpenAiServer api(options, engine.get(), &prompt, &http);
  RETURN_IF_ERROR(http.Bind());
  LogConfig(f, engine_options, *engine, options, http_options);

  // The engine's shutdown runs on its own thread while Run waits for connections to end
  // (streams end only when the engine ends them). The mutex orders its creation before
  // StopAccepting, so once Run returns main sees the thread.
  std::mutex shutdown_mu;
  std::thread shutdown_thread;
  std::thread signal_thread([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    LOG(INFO) << "signal " << signal << ": shutting down (in-flight requests get "
              << f.shutdown_timeout << " s; a second signal exits at once)";
    const auto deadline =
        std::chrono::steady_clock::now() +
        std::chrono::milliseconds(static_cast<int64_t>(f.shutdown_timeout * 1000));
    {
      std::lock_guard<std::mutex> lock(shutdown_mu);
      shutdown_thread = std::thread([&engine, deadline] { engine->Shutdown(deadline); });
    }
    http.StopAccepting();
    sigwait(&signals, &signal);
    LOG(WARNING) << "second signal " << signal << ": exiting now";
    _exit(128 + signal);
  });
  signal_thread.detach();

  LOG(INFO) << "listening on http://" << f.host << ":" << http.port();
  if (group != nullptr) AnnounceLeader();
  http.Run();
  // Run returns once accepting stopped and every connection ended; the engine has ended every
  // stream by then or ends the idle rest now.
  {
    std::lock_guard<std::mutex> lock(shutdown_mu);
    if (shutdown_thread.joinable()) shutdown_thread.join();
  }
  engine->Shutdown(std::chrono::steady_clock::now());
  LOG(INFO) << "shut down cleanly";
  return Status::Ok();
}

Status Serve(const ServeFlags& f) {
  // Signals: blocked before any thread starts (MPI's included), so only the sigwait thread
  // (or the launcher of the ranks) sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return RunOnRanks(f.tensor_parallel,
                    [&](Communicator* group) { return ServeOn(f, group, signals); });
}

}  // namespace

void RegisterServeCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve a model over an OpenAI-compatible HTTP API");
  cmd->add_option("--model", flags->model, "Model folder (Hugging Face layout)")->required();
  cmd->add_option("--host", flags->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", flags->port, "Port to listen on (0: any free port)")
      ->capture_default_str();
  cmd->add_option("--device", flags->device, "cpu or cuda (CUDA builds)")->capture_default_str();
  AddModelOptionFlags(cmd, &flags->model_options);
  cmd->add_option("--gpu-memory-utilization", flags->gpu_memory_utilization,
                  "cuda: fraction of the device's memory for weights, activations and KV pool")
      ->capture_default_str();
  cmd->add_option("--threads", flags->threads,
                  "Compute threads (per rank; 0: all cores, shared by the ranks)")
      ->capture_default_str();
  cmd->add_option("--tensor-parallel", flags->tensor_parallel,
                  "Split the model over N ranks (MPI processes; started with mpirun, or by "
                  "tierserve itself on this host). CPU only so far")
      ->capture_default_str();
  cmd->add_option("--kv-cache-memory", flags->kv_cache_memory,
                  "RAM for the KV block pool, e.g. 4GiB, 512MB (ignored with --num-blocks)")
      ->capture_default_str();
  cmd->add_option("--num-blocks", flags->num_blocks, "KV blocks in RAM (0: from --kv-cache-memory)")
      ->capture_default_str();
  cmd->add_option("--block-size", flags->block_size, "Tokens per KV block")->capture_default_str();
  cmd->add_option("--kv-dtype", flags->kv_dtype, "KV cache dtype: bf16, f16, f32")
      ->capture_default_str();
  cmd->add_option("--max-num-seqs", flags->max_num_seqs, "Sequences running at once at most")
      ->capture_default_str();
  cmd->add_option("--max-num-batched-tokens", flags->max_num_batched_tokens,
                  "Tokens per forward pass at most (prefill chunk size)")
      ->capture_default_str();
  cmd->add_option("--max-model-len", flags->max_model_len,
                  "Prompt + output tokens at most (0: the model's maximum)")
      ->capture_default_str();
  cmd->add_option("--max-queue", flags->max_queue,
                  "Waiting requests at most; beyond, requests get 429")
      ->capture_default_str();
  cmd->add_flag("--no-prefix-cache", flags->no_prefix_cache,
                "No prefix cache: every prompt computed in full, no block cached in RAM or on SSD "
                "(a benchmark baseline)");
  cmd->add_option("--ssd-cache-dir", flags->ssd_cache_dir,
                  "Folder of the SSD tier of the prefix cache (default: off)");
  cmd->add_option("--ssd-cache-size", flags->ssd_cache_size,
                  "Largest size of the SSD tier, e.g. 100GiB (0: no cap)")
      ->capture_default_str();
  cmd->add_option("--ssd-cache-ttl", flags->ssd_cache_ttl,
                  "Seconds an SSD record lives (0: forever)")
      ->capture_default_str();
  cmd->add_option("--api-key", flags->api_key,
                  "Require 'Authorization: Bearer KEY' (also from $TIERSERVE_API_KEY)")
      ->envname("TIERSERVE_API_KEY");
  cmd->add_option("--served-model-name", flags->served_model_name,
                  "Model id clients use (default: the model folder's name)");
  cmd->add_option("--chat-template", flags->chat_template,
                  "Jinja chat template file overriding the model's");
  cmd->add_option("--shutdown-timeout", flags->shutdown_timeout,
                  "Seconds in-flight requests get to finish after SIGINT/SIGTERM")
      ->capture_default_str();
  cmd->add_option("--max-body-size", flags->max_body_size, "Largest request body; beyond, 413")
      ->capture_default_str();
  cmd->add_option("--request-timeout", flags->request_timeout,
                  "Seconds a generation may run before it is ended (0: no limit)")
      ->capture_default_str();
  cmd->add_option("--tool-call-parser", flags->tool_call_parser,
                  "How the model writes tool calls: hermes (Qwen, Hermes), llama3_json, mistral, "
                  "auto (from the chat template)")
      ->capture_default_str();
  cmd->add_option("--reasoning-parser", flags->reasoning_parser,
                  "Split <think>...</think> into reasoning_content: qwen3, none, auto (qwen3 for "
                  "Qwen3 models)")
      ->capture_default_str();
  cmd->add_flag("--allow-special-tokens-in-content", flags->allow_special_tokens_in_content,
                "Let special-token text in chat messages become control tokens");
  cmd->add_option("--max-n", flags->max_n, "Largest n (choices per request)")
      ->capture_default_str();
  cmd->add_option("--http-threads", flags->http_threads,
                  "Connections served at once (one thread each); more wait their turn")
      ->capture_default_str();
  cmd->callback([flags, exit_code] {
    Status status = Serve(*flags);
    if (!status.ok()) {
      LOG(ERROR) << "serve: " << status.ToString();
      *exit_code = 1;
    }
  });
}

}  // namespace ts::app
