// OpenAI response serialization: the JSON bodies of chat and text completions (whole and as
// stream chunks), usage, logprobs, and SSE framing. Pure functions over engine results; the
// handler decides what goes into each chunk.
//
// Strings are dumped with invalid UTF-8 replaced (U+FFFD): a token's text on its own may be
// a partial UTF-8 sequence, and a dump must never throw.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "engine/request_stream.h"
#include "text/tokenizer.h"

namespace ts::server {

// What every body of one response repeats.
struct ResponseHeader {
  std::string id;       // "chatcmpl-..." or "cmpl-..."
  std::string object;   // "chat.completion", "chat.completion.chunk", "text_completion"
  int64_t created = 0;  // unix seconds
  std::string model;
};

nlohmann::ordered_json ResponseJson(const ResponseHeader& header, nlohmann::ordered_json choices);

// prompt_tokens_details.cached_tokens as OpenAI has it, plus the split by tier (our extension:
// cached_tokens_ram + cached_tokens_ssd == cached_tokens).
nlohmann::ordered_json UsageJson(const Usage& usage);

// "stop", "length"; requests the server ended (shutdown, a stalled reader) report "abort".
const char* FinishReasonText(FinishReason reason);

// Chat logprobs: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}, ...]}.
nlohmann::ordered_json ChatLogprobsJson(const std::vector<TokenLogprob>& logprobs,
                                        const text::Tokenizer& tokenizer);

// Completions logprobs: {"tokens", "token_logprobs", "top_logprobs", "text_offset"}. A NaN
// logprob (the first prompt token's, which has no context) becomes null, and so do its top
// alternatives. Offsets count from `text_offset` (bytes of text before these tokens).
nlohmann::ordered_json CompletionLogprobsJson(const std::vector<TokenLogprob>& logprobs,
                                              const text::Tokenizer& tokenizer, size_t text_offset);

// Appends one completions-logprobs object to another (same keys, arrays concatenated).
void AppendCompletionLogprobs(nlohmann::ordered_json* into, const nlohmann::ordered_json& more);

// The text one token decodes to on its own (special tokens included).
std::string TokenText(const text::Tokenizer& tokenizer, int32_t token);

std::string DumpJson(const nlohmann::ordered_json& value);
std::string DumpJson(const nlohmann::json& value);

// "data: <json>\n\n"
std::string SseData(const nlohmann::ordered_json& value);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";
// A comment line: ignored by SSE clients, keeps proxies and clients from timing out.
inline constexpr std::string_view kSseKeepAlive = ": keep-alive\n\n";

}  // namespace ts::server
