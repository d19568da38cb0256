// OpenAiServer: the routes of the OpenAI-compatible API on an HttpServer, backed by one
// Engine.
//
//   POST /v1/chat/completions, POST /v1/completions   generation, JSON or SSE
//   GET  /v1/models, /v1/models/{id}                  the one served model
//   GET  /health                                      200 while serving, 503 while draining
//   GET  /metrics                                     Prometheus text
//   POST /tokenize, POST /detokenize
//   GET  /v1/cache/stats, DELETE /v1/cache            cache administration
//
// With an API key, everything except /health and /metrics needs "Authorization: Bearer KEY".
// Handlers run on the HTTP worker threads; the engine, tokenizer and chat prompt are borrowed
// and must outlive the server. All of them are safe to use from many threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "engine/engine.h"
#include "server/chat_prompt.h"
#include "server/grammar_cache.h"
#include "server/http_server.h"
#include "server/metrics_text.h"
#include "server/openai_request.h"
#include "server/tool_calls.h"

namespace ts::server {

struct OpenAiServerOptions {
  std::string served_model_name;
  std::string api_key;   // empty: no auth
  RequestLimits limits;  // vocab_size is taken from the engine's model
  // A generation still running after this long is ended (finish_reason "abort" when
  // streaming, 504 otherwise); 0: no limit.
  std::chrono::seconds request_timeout{0};
  // An SSE stream silent this long (e.g. a long prefill) gets a comment line.
  std::chrono::milliseconds keep_alive_interval{5'000};
  bool reasoning_parser = false;     // split Qwen3 <think>...</think> into reasoning_content
  // How the model writes tool calls (--tool-call-parser, else from the chat template); unset:
  // requests with tools get a 400.
  std::optional<ToolCallFormat> tool_call_format;
  size_t max_body_bytes = 32 << 20;  // for the 413 message
};

class OpenAiServer {
 public:
  // Registers the routes on `http`.
  OpenAiServer(const OpenAiServerOptions& options, Engine* engine, const ChatPrompt* prompt,
               HttpServer* http);

  HttpMetricsSnapshot http_metrics() const;

 private:
  void RegisterRoutes();
  void HandleGeneration(const httplib::Request& req, httplib::Response& res, bool is_chat);
  void HandleTokenize(const httplib::Request& req, httplib::Response& res);
  void HandleDetokenize(const httplib::Request& req, httplib::Response& res);
  void HandleModels(const httplib::Request& req, httplib::Response& res);
  void HandleCacheStats(httplib::Response& res);
  void HandleClearCache(httplib::Response& res);
  void HandleMetrics(httplib::Response& res);
  void HandleHealth(httplib::Response& res);
  std::string NewId(const char* prefix);

  const OpenAiServerOptions options_;
  Engine* const engine_;
  const ChatPrompt* const prompt_;
  HttpServer* const http_;
  RequestLimits limits_;
  GrammarCache grammars_;
  const int64_t created_;  // unix seconds, for /v1/models
  const uint64_t id_base_;
  std::atomic<uint64_t> next_id_{0};
  std::atomic<int64_t> requests_total_{0}, requests_4xx_total_{0}, requests_5xx_total_{0},
      active_streams_{0}, client_disconnects_total_{0};
};

}  // namespace ts::server
