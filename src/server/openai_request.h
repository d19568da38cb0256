// OpenAI request parsing and validation for /v1/chat/completions and /v1/completions.
//
// Parse* takes the raw body and returns a fully checked request or an invalid-argument Status
// naming the field (api_error.h). Checks happen before anything is tokenized or submitted:
// JSON nesting depth (before nlohmann parses: its parser recurses), types, ranges, the caps of
// RequestLimits, token ids against the vocabulary, and fields we cannot honour (`functions`,
// `guided_*`, ...), which are refused by name instead of being ignored. Schemas (`tools`,
// `response_format`) are kept in the order the client wrote them: properties are generated in
// that order.
// Unknown fields that cannot change the result are accepted.
//
// Length checks that need the tokenized prompt (prompt + max_tokens <= max_model_len) happen
// in the handler, after the template is rendered.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json_depth.h"
#include "base/status.h"
#include "engine/request.h"

namespace ts::server {

struct RequestLimits {
  int32_t vocab_size = 0;  // token ids must be below this
  int32_t max_n = 16;      // choices per prompt
  int32_t max_top_logprobs = 20;
  int32_t max_stop = 16;         // stop strings
  size_t max_stop_bytes = 1024;  // per stop string
  int32_t max_json_depth = 64;
  int32_t max_prompts = 1024;  // completions: prompts in one request
  int32_t max_tools = 128;
  size_t max_schema_bytes = 64 << 10;  // per JSON schema (response_format, each tool's parameters)
};

// What chat and completions share: sampling, stops, limits on output, streaming.
struct GenerationFields {
  std::string model;                  // "" when the client left it out
  GenerationRequest request;          // prompt empty: filled once tokenized
  std::optional<int32_t> max_tokens;  // unset: up to max_model_len
  int32_t n = 1;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool logprobs = false;
  int32_t top_logprobs = 0;  // alternatives per token (with logprobs)
  std::string user;
  // response_format json_object / json_schema: the schema the output must match ({"type":
  // "object"} for json_object); unset: free text.
  std::optional<nlohmann::ordered_json> response_schema;
};

// tool_choice: auto (the model decides), none (no tools), required (some call), or one named
// function.
struct ToolChoice {
  enum class Mode { kAuto, kNone, kRequired, kNamed };
  Mode mode = Mode::kAuto;
  std::string name;  // kNamed
};

struct ChatRequest {
  GenerationFields fields;
  // messages as the template sees them: content always a string (text parts joined).
  nlohmann::ordered_json messages;
  bool add_generation_prompt = true;
  bool continue_final_message = false;
  nlohmann::ordered_json chat_template_kwargs = nlohmann::ordered_json::object();
  // Checked OpenAI tool objects ({"type": "function", "function": {"name", "description",
  // "parameters"}}); empty when the request has none or tool_choice is none.
  nlohmann::ordered_json tools = nlohmann::ordered_json::array();
  ToolChoice tool_choice;
  bool parallel_tool_calls = true;
};

// One prompt of a completions request: text or token ids.
struct CompletionPrompt {
  std::optional<std::string> text;
  std::vector<int32_t> ids;  // when text is unset
};

struct CompletionRequest {
  GenerationFields fields;
  std::vector<CompletionPrompt> prompts;  // non-empty
  bool echo = false;
};

// Parses a body that must be a JSON object (depth-checked first).
Result<nlohmann::json> ParseJsonObject(std::string_view body, int32_t max_depth);

Result<ChatRequest> ParseChatRequest(std::string_view body, const RequestLimits& limits);
Result<CompletionRequest> ParseCompletionRequest(std::string_view body,
                                                 const RequestLimits& limits);

}  // namespace ts::server

namespace ts::server {

// POST /tokenize: {"prompt": str, "add_special_tokens": bool} or
// {"messages": [...], "add_generation_prompt": bool, "chat_template_kwargs": {...}}.
struct TokenizeRequest {
  std::optional<std::string> prompt;  // set: a plain prompt; unset: messages
  bool add_special_tokens = true;
  nlohmann::ordered_json messages;
  bool add_generation_prompt = true;
  nlohmann::ordered_json chat_template_kwargs = nlohmann::ordered_json::object();
};

Result<TokenizeRequest> ParseTokenizeRequest(std::string_view body, const RequestLimits& limits);

// POST /detokenize: {"tokens": [...]}, ids checked against the vocabulary.
Result<std::vector<int32_t>> ParseDetokenizeRequest(std::string_view body,
                                                    const RequestLimits& limits);

}  // namespace ts::server
