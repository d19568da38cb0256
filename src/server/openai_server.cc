#include "server/openai_server.h"

#include <ctime>
#include <random>

#include "base/log.h"
#include "engine/json_schema_compiler.h"
#include "server/api_error.h"
#include "server/auth.h"
#include "server/generation.h"
#include "server/openai_response.h"

namespace ts::server {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::ordered_json;
using HandlerResponse = httplib::Server::HandlerResponse;

// How often a waiting handler looks up from the engine to notice a client that left.
constexpr auto kPollInterval = std::chrono::milliseconds(100);

void SendJson(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

void SendError(httplib::Response& res, const ApiError& error) {
  SendJson(res, error.http_status, DumpJson(error.body));
}

bool NeedsAuth(const std::string& path) {
  return path.starts_with("/v1/") || path == "/tokenize" || path == "/detokenize";
}

// The prompt ends inside an open think block (Qwen3 templates with enable_thinking open it
// for the model): the output starts as reasoning.
bool EndsInThink(const text::Tokenizer& tokenizer, const std::vector<int32_t>& ids) {
  const size_t n = std::min<size_t>(ids.size(), 3);
  Result<std::string> tail = tokenizer.Decode(std::span(ids).subspan(ids.size() - n),
                                              {.skip_special = false, .clean_up_spaces = false});
  if (!tail.ok()) return false;
  std::string_view t = *tail;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.remove_suffix(1);
  return t.ends_with("<think>");
}

// One prompt of a request after tokenization.
struct TokenizedPrompt {
  std::vector<int32_t> ids;
  std::string echo_text;
};

}  // namespace

namespace {

// The vocabulary constrained decoding masks: the model's logits, the engine's EOS ids.
std::unique_ptr<TokenVocabulary> MakeVocabulary(const Engine& engine,
                                                const text::Tokenizer& tokenizer) {
  std::vector<int32_t> eos = engine.model_config().eos_token_ids;
  if (tokenizer.eos_id()) eos.push_back(*tokenizer.eos_id());
  return std::make_unique<TokenVocabulary>(tokenizer, engine.model_config().vocab_size,
                                           std::move(eos));
}

}  // namespace

OpenAiServer::OpenAiServer(const OpenAiServerOptions& options, Engine* engine,
                           const ChatPrompt* prompt, HttpServer* http)
    : options_(options),
      engine_(engine),
      prompt_(prompt),
      http_(http),
      limits_(options.limits),
      grammars_(MakeVocabulary(*engine, prompt->tokenizer())),
      created_(static_cast<int64_t>(std::time(nullptr))),
      id_base_(std::random_device{}() * 0x9e3779b97f4a7c15ull ^ std::random_device{}()) {
  limits_.vocab_size = engine_->model_config().vocab_size;
  RegisterRoutes();
}

HttpMetricsSnapshot OpenAiServer::http_metrics() const {
  return {requests_total_.load(), requests_4xx_total_.load(), requests_5xx_total_.load(),
          active_streams_.load(), client_disconnects_total_.load()};
}

std::string OpenAiServer::NewId(const char* prefix) {
  const uint64_t x = id_base_ + next_id_.fetch_add(1) * 0x9e3779b97f4a7c15ull;
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(x));
  return std::string(prefix) + buf;
}

void OpenAiServer::RegisterRoutes() {
  http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    requests_total_.fetch_add(1);
    if (NeedsAuth(req.path) &&
        !IsAuthorized(req.get_header_value("Authorization"), options_.api_key)) {
      SendError(res, MakeApiError(401, "Incorrect or missing API key (Authorization: Bearer ...)",
                                  "invalid_request_error", {}, "invalid_api_key"));
      return HandlerResponse::Handled;
    }
    return HandlerResponse::Unhandled;
  });
  // Fills the body of errors httplib produced itself (unknown route, oversized body, a
  // malformed request); our own errors already carry one.
  http_->set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                       httplib::Response& res) {
    if (!res.body.empty()) return HandlerResponse::Unhandled;
    ApiError error;
    if (res.status == 404) {
      error = MakeApiError(404, "no such route", "invalid_request_error", {}, "not_found");
    } else if (res.status == 413 && req.get_header_value("Content-Type")
                                        .starts_with("application/x-www-form-urlencoded")) {
      // httplib caps form-encoded bodies at 8 KiB (curl -d sends that type by default).
      error = MakeApiError(413,
                           "form-encoded bodies are limited to 8 KiB: send the JSON with "
                           "Content-Type: application/json",
                           "invalid_request_error", {}, "payload_too_large");
    } else if (res.status == 413) {
      error = MakeApiError(413,
                           "request body larger than " + std::to_string(options_.max_body_bytes) +
                               " bytes (--max-body-size)",
                           "invalid_request_error", {}, "payload_too_large");
    } else if (res.status < 500) {
      error = MakeApiError(res.status, "malformed HTTP request", "invalid_request_error");
    } else {
      error = MakeApiError(res.status, "internal error", "internal_error");
    }
    SendError(res, error);
    return HandlerResponse::Handled;
  }));
  http_->set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        LOG(ERROR) << req.method << " " << req.path << ": " << what;
        SendError(res, MakeApiError(500, "internal error", "internal_error"));
      });
  http_->set_logger([this](const httplib::Request&, const httplib::Response& res) {
    if (res.status >= 500) {
      requests_5xx_total_.fetch_add(1);
    } else if (res.status >= 400) {
      requests_4xx_total_.fetch_add(1);
    }
  });

  http_->Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    HandleGeneration(req, res, /*is_chat=*/true);
  });
  http_->Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    HandleGeneration(req, res, /*is_chat=*/false);
  });
  http_->Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
    HandleModels(req, res);
  });
  http_->Get("/v1/models/(.+)", [this](const httplib::Request& req, httplib::Response& res) {
    HandleModels(req, res);
  });
  http_->Get("/health",
             [this](const httplib::Request&, httplib::Response& res) { HandleHealth(res); });
  http_->Get("/metrics",
             [this](const httplib::Request&, httplib::Response& res) { HandleMetrics(res); });
  http_->Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) {
    HandleTokenize(req, res);
  });
  http_->Post("/detokenize", [this](const httplib::Request& req, httplib::Response& res) {
    HandleDetokenize(req, res);
  });
  http_->Get("/v1/cache/stats",
             [this](const httplib::Request&, httplib::Response& res) { HandleCacheStats(res); });
  http_->Delete("/v1/cache",
                [this](const httplib::Request&, httplib::Response& res) { HandleClearCache(res); });
}

void OpenAiServer::HandleGeneration(const httplib::Request& req, httplib::Response& res,
                                    bool is_chat) {
  // Parse and tokenize.
  std::optional<ChatRequest> chat;
  std::optional<CompletionRequest> completion;
  if (is_chat) {
    Result<ChatRequest> parsed = ParseChatRequest(req.body, limits_);
    if (!parsed.ok()) return SendError(res, ToApiError(parsed.status()));
    chat.emplace(std::move(parsed).value());
  } else {
    Result<CompletionRequest> parsed = ParseCompletionRequest(req.body, limits_);
    if (!parsed.ok()) return SendError(res, ToApiError(parsed.status()));
    completion.emplace(std::move(parsed).value());
  }
  const GenerationFields& fields = is_chat ? chat->fields : completion->fields;
  if (!fields.model.empty() && fields.model != options_.served_model_name) {
    return SendError(res, ToApiError(NotFound("'model' " + fields.model.substr(0, 256) +
                                              " does not exist; this server serves " +
                                              options_.served_model_name)));
  }
  const text::Tokenizer& tokenizer = prompt_->tokenizer();
  // Constrained decoding: a JSON response_format, or a call forced by tool_choice.
  std::shared_ptr<const CompiledGrammar> grammar;
  if (fields.response_schema) {
    const nlohmann::ordered_json& schema = *fields.response_schema;
    Result<std::shared_ptr<const CompiledGrammar>> compiled =
        grammars_.Get("schema:" + schema.dump(), [&] { return CompileJsonSchema(schema); });
    if (!compiled.ok()) {
      return SendError(res,
                       ToApiError(InvalidField("response_format", compiled.status().message())));
    }
    grammar = std::move(compiled).value();
  }
  const bool has_tools = is_chat && !chat->tools.empty();
  const bool tool_forced = has_tools && (chat->tool_choice.mode == ToolChoice::Mode::kRequired ||
                                         chat->tool_choice.mode == ToolChoice::Mode::kNamed);
  if (has_tools && !options_.tool_call_format) {
    return SendError(res,
                     ToApiError(InvalidField("tools",
                                             "cannot be used: the chat template shows no tool-call "
                                             "format (start the server with --tool-call-parser)")));
  }
  if (tool_forced) {
    const ToolCallFormat format = *options_.tool_call_format;
    std::optional<std::string> only;
    if (chat->tool_choice.mode == ToolChoice::Mode::kNamed) only = chat->tool_choice.name;
    // required: one or more calls unless parallel_tool_calls is false; a named function is
    // called once.
    const bool parallel = !only && chat->parallel_tool_calls;
    Result<std::shared_ptr<const CompiledGrammar>> compiled =
        grammars_.Get("tools:" + std::to_string(static_cast<int>(format)) + ":" +
                          (parallel ? "n:" : "1:") + only.value_or("") + ":" + chat->tools.dump(),
                      [&] { return ToolCallGrammar(format, chat->tools, only, parallel); });
    if (!compiled.ok()) {
      return SendError(res, ToApiError(InvalidField("tools", compiled.status().message())));
    }
    grammar = std::move(compiled).value();
  }
  std::vector<TokenizedPrompt> prompts;
  if (is_chat) {
    nlohmann::ordered_json kwargs = chat->chat_template_kwargs;
    if (has_tools) kwargs["tools"] = chat->tools;
    Result<std::vector<int32_t>> ids =
        prompt_->EncodeChat(chat->messages, chat->add_generation_prompt, kwargs);
    if (!ids.ok()) return SendError(res, ToApiError(ids.status()));
    prompts.push_back({std::move(ids).value(), {}});
  } else {
    for (const CompletionPrompt& p : completion->prompts) {
      TokenizedPrompt t;
      if (p.text) {
        Result<std::vector<int32_t>> ids = prompt_->EncodeText(*p.text, /*add_special=*/true);
        if (!ids.ok()) return SendError(res, ToApiError(ids.status()));
        t.ids = std::move(ids).value();
        if (completion->echo) t.echo_text = *p.text;
      } else {
        t.ids = p.ids;
        if (completion->echo) {
          Result<std::string> text = tokenizer.Decode(t.ids);
          if (text.ok()) t.echo_text = std::move(text).value();
        }
      }
      prompts.push_back(std::move(t));
    }
  }

  // Lengths: the prompt and the output must fit the context.
  const int32_t max_model_len = engine_->max_model_len();
  std::vector<int32_t> max_tokens;
  for (const TokenizedPrompt& p : prompts) {
    const int64_t len = static_cast<int64_t>(p.ids.size());
    if (len == 0) return SendError(res, ToApiError(InvalidField("prompt", "is empty")));
    if (len >= max_model_len) {
      return SendError(
          res, ToApiError(InvalidField(is_chat ? "messages" : "prompt",
                                       "is " + std::to_string(len) + " tokens; the context is " +
                                           std::to_string(max_model_len) + " (--max-model-len)")));
    }
    const int64_t room = max_model_len - len;
    // OpenAI's default for chat is "as much as fits"; for completions it is 16.
    const int64_t wanted = fields.max_tokens ? *fields.max_tokens
                           : is_chat         ? room
                                             : std::min<int64_t>(16, room);
    if (len + wanted > max_model_len) {
      return SendError(
          res, ToApiError(InvalidField(
                   "max_tokens", std::to_string(wanted) + " plus the prompt's " +
                                     std::to_string(len) + " tokens exceeds the " + "context of " +
                                     std::to_string(max_model_len) + " (--max-model-len)")));
    }
    max_tokens.push_back(static_cast<int32_t>(wanted));
  }

  // Submit n copies of every prompt; they share the prompt's cached blocks.
  std::vector<ChoiceSetup> choices;
  auto cancel_all = [&choices] {
    for (ChoiceSetup& c : choices) c.stream->Cancel();
  };
  for (size_t p = 0; p < prompts.size(); ++p) {
    for (int32_t k = 0; k < fields.n; ++k) {
      GenerationRequest request = fields.request;
      request.grammar = grammar;
      // [TOOL_CALLS] and <|python_tag|> are special tokens the parser must see.
      if (has_tools && *options_.tool_call_format != ToolCallFormat::kHermes) {
        request.skip_special_tokens = false;
      }
      request.prompt = prompts[p].ids;
      request.max_tokens = max_tokens[p];
      // Copies of one prompt must differ, and stay reproducible for a given seed.
      if (request.sampling.seed) *request.sampling.seed += static_cast<uint64_t>(k);
      Result<std::shared_ptr<RequestStream>> stream = engine_->Submit(std::move(request));
      if (!stream.ok()) {
        cancel_all();
        return SendError(res, ToApiError(stream.status()));
      }
      choices.push_back({std::move(stream).value(), static_cast<int32_t>(prompts[p].ids.size()),
                         /*counts_prompt=*/k == 0, prompts[p].echo_text});
    }
  }

  GenerationOptions gen_options;
  gen_options.kind = is_chat ? ApiKind::kChat : ApiKind::kCompletion;
  gen_options.header = {NewId(is_chat ? "chatcmpl-" : "cmpl-"), "",
                        static_cast<int64_t>(std::time(nullptr)), options_.served_model_name};
  gen_options.logprobs = fields.logprobs;
  gen_options.include_usage = fields.include_usage;
  if (is_chat && options_.reasoning_parser) {
    gen_options.reasoning_open_tag = "<think>";
    gen_options.reasoning_close_tag = "</think>";
    gen_options.starts_in_reasoning = EndsInThink(tokenizer, prompts[0].ids);
  }
  if (has_tools) {
    gen_options.tool_format = options_.tool_call_format;
    gen_options.tool_call_forced = tool_forced;
    gen_options.parallel_tool_calls = chat->parallel_tool_calls;
  }
  auto generation =
      std::make_shared<Generation>(std::move(gen_options), std::move(choices), &tokenizer);
  const Clock::time_point deadline = options_.request_timeout.count() > 0
                                         ? Clock::now() + options_.request_timeout
                                         : Clock::time_point::max();

  if (!fields.stream) {
    while (!generation->is_done()) {
      if (HttpServer::PeerClosed()) {
        client_disconnects_total_.fetch_add(1);
        generation->Cancel();
        return;
      }
      if (Clock::now() >= deadline) {
        generation->Cancel();
        return SendError(res, MakeApiError(504, "the request ran past --request-timeout", "timeout",
                                           {}, "request_timeout"));
      }
      generation->Poll(std::min(deadline, Clock::now() + kPollInterval), /*streaming=*/false);
    }
    if (!generation->error().ok()) return SendError(res, ToApiError(generation->error()));
    return SendJson(res, 200, DumpJson(generation->Response()));
  }

  // Streaming: httplib calls the provider again and again until it signals done; between
  // calls it checks that the client is still there (HttpServer::PeerClosed via is_writable).
  active_streams_.fetch_add(1);
  struct StreamState {
    bool preamble_sent = false;
    Clock::time_point last_write = Clock::now();
  };
  auto state = std::make_shared<StreamState>();
  const auto keep_alive = options_.keep_alive_interval;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [generation, state, deadline, keep_alive](size_t, httplib::DataSink& sink) {
        // An empty write would be the zero-length chunk that ends a chunked body.
        auto write = [&](const std::string& events) {
          if (events.empty()) return true;
          state->last_write = Clock::now();
          return sink.write(events.data(), events.size());
        };
        if (!state->preamble_sent) {
          state->preamble_sent = true;
          return write(generation->StreamPreamble());
        }
        const bool timed_out = Clock::now() >= deadline;
        if (generation->is_done() || timed_out || !generation->error().ok()) {
          if (!generation->is_done()) generation->Cancel();
          const bool ok = write(generation->StreamEpilogue());
          sink.done();
          return ok;
        }
        const Clock::time_point wake =
            std::min({deadline, Clock::now() + kPollInterval, state->last_write + keep_alive});
        const std::string events = generation->Poll(wake, /*streaming=*/true);
        if (!events.empty()) return write(events);
        if (Clock::now() - state->last_write >= keep_alive) {
          return write(std::string(kSseKeepAlive));
        }
        return true;
      },
      [this, generation](bool success) {
        if (!success && !generation->is_done()) client_disconnects_total_.fetch_add(1);
        generation->Cancel();
        active_streams_.fetch_sub(1);
      });
}

void OpenAiServer::HandleTokenize(const httplib::Request& req, httplib::Response& res) {
  Result<TokenizeRequest> parsed = ParseTokenizeRequest(req.body, limits_);
  if (!parsed.ok()) return SendError(res, ToApiError(parsed.status()));
  Result<std::vector<int32_t>> ids =
      parsed->prompt ? prompt_->EncodeText(*parsed->prompt, parsed->add_special_tokens)
                     : prompt_->EncodeChat(parsed->messages, parsed->add_generation_prompt,
                                           parsed->chat_template_kwargs);
  if (!ids.ok()) return SendError(res, ToApiError(ids.status()));
  ordered_json body = {
      {"tokens", *ids}, {"count", ids->size()}, {"max_model_len", engine_->max_model_len()}};
  SendJson(res, 200, DumpJson(body));
}

void OpenAiServer::HandleDetokenize(const httplib::Request& req, httplib::Response& res) {
  Result<std::vector<int32_t>> ids = ParseDetokenizeRequest(req.body, limits_);
  if (!ids.ok()) return SendError(res, ToApiError(ids.status()));
  Result<std::string> text = prompt_->tokenizer().Decode(*ids);
  if (!text.ok())
    return SendError(res, ToApiError(InvalidField("tokens", text.status().message())));
  SendJson(res, 200, DumpJson(ordered_json{{"prompt", *text}}));
}

void OpenAiServer::HandleModels(const httplib::Request& req, httplib::Response& res) {
  ordered_json model = {{"id", options_.served_model_name},
                        {"object", "model"},
                        {"created", created_},
                        {"owned_by", "tierserve"},
                        {"max_model_len", engine_->max_model_len()}};
  if (req.matches.size() > 1) {
    if (req.matches[1] != options_.served_model_name) {
      return SendError(res, ToApiError(NotFound("'model' " + req.matches[1].str().substr(0, 256) +
                                                " does not exist")));
    }
    return SendJson(res, 200, DumpJson(model));
  }
  SendJson(res, 200, DumpJson(ordered_json{{"object", "list"}, {"data", {model}}}));
}

void OpenAiServer::HandleCacheStats(httplib::Response& res) {
  const KvCacheStats s = engine_->CacheStats();
  auto rate = [](int64_t hit, int64_t miss) {
    return hit + miss == 0 ? 0.0 : static_cast<double>(hit) / static_cast<double>(hit + miss);
  };
  ordered_json body = {
      {"block_size", s.block_size},
      {"block_bytes", s.block_bytes},
      {"ram",
       {{"total_blocks", s.ram_total_blocks},
        {"used_blocks", s.ram_used_blocks},
        {"cached_blocks", s.ram_cached_blocks},
        {"free_blocks", s.ram_free_blocks},
        {"used_bytes", s.ram_used_blocks * s.block_bytes},
        {"cached_bytes", s.ram_cached_blocks * s.block_bytes},
        {"hit_blocks", s.ram_hit_blocks},
        {"miss_blocks", s.ram_miss_blocks},
        {"hit_rate", rate(s.ram_hit_blocks, s.ram_miss_blocks)},
        {"evictions", s.ram_evictions}}},
      {"ssd",
       {{"enabled", s.ssd_enabled},
        {"blocks", s.ssd.num_blocks},
        {"bytes", s.ssd.num_bytes},
        {"hit_blocks", s.ssd.hit_blocks},
        {"miss_blocks", s.ssd.miss_blocks},
        {"hit_rate", rate(s.ssd.hit_blocks, s.ssd.miss_blocks)},
        {"pending_writes", s.ssd.pending_writes},
        {"written_blocks", s.ssd.written_blocks},
        {"dropped_writes", s.ssd.dropped_writes}}},
  };
  SendJson(res, 200, DumpJson(body));
}

void OpenAiServer::HandleClearCache(httplib::Response& res) {
  Status status = engine_->ClearCache();
  if (!status.ok()) return SendError(res, ToApiError(status));
  SendJson(res, 200, DumpJson(ordered_json{{"cleared", true}}));
}

void OpenAiServer::HandleMetrics(httplib::Response& res) {
  res.set_content(FormatPrometheus(engine_->Metrics(), engine_->CacheStats(), http_metrics()),
                  "text/plain; version=0.0.4; charset=utf-8");
}

void OpenAiServer::HandleHealth(httplib::Response& res) {
  if (http_->is_draining()) {
    return SendError(res, ToApiError(Unavailable("the server is shutting down")));
  }
  SendJson(res, 200, R"({"status":"ok"})");
}

}  // namespace ts::server
