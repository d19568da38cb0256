// Generation: the engine side of one chat or completions response: the n x prompts streams it
// submitted, each choice's text so far, and the JSON those become, whole or as SSE chunks.
//
// Owned by the handler (non-streaming) or by the SSE content provider (streaming) through a
// shared_ptr; used by one thread at a time. Destroying it cancels every stream that has not
// finished, so a client that goes away, a write that fails or a timeout all free the engine's
// blocks the same way.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/request_stream.h"
#include "server/openai_response.h"
#include "server/reasoning_parser.h"
#include "server/tool_calls.h"
#include "text/tokenizer.h"

namespace ts::server {

enum class ApiKind { kChat, kCompletion };

// One choice: which stream feeds it and what it starts with.
struct ChoiceSetup {
  std::shared_ptr<RequestStream> stream;
  int32_t prompt_tokens = 0;
  bool counts_prompt = true;  // the first copy of its prompt: its usage counts the prompt
  std::string echo_text;      // completions with echo: the prompt's text
};

struct GenerationOptions {
  ApiKind kind = ApiKind::kChat;
  ResponseHeader header;  // object is set per body
  bool logprobs = false;
  bool include_usage = false;  // streaming: a final usage chunk
  // Chat with a reasoning parser: the think tags; empty: no parsing.
  std::string reasoning_open_tag, reasoning_close_tag;
  bool starts_in_reasoning = false;
  // Chat with tools: the family whose calls are parsed out of the answer; unset: no parsing.
  // While a call may be starting, its text is held back from the content stream; at the end
  // the calls go out as tool_calls (streaming: name first, then the arguments).
  std::optional<ToolCallFormat> tool_format;
  bool tool_call_forced = false;    // tool_choice required/named: the answer is only calls
  bool parallel_tool_calls = true;  // false: only the first call is returned
};

class Generation {
 public:
  Generation(GenerationOptions options, std::vector<ChoiceSetup> choices,
             const text::Tokenizer* tokenizer);
  ~Generation();  // cancels unfinished streams
  Generation(const Generation&) = delete;
  Generation& operator=(const Generation&) = delete;

  // Takes whatever the streams have, waiting until `deadline` for something. Streaming:
  // returns the SSE events to send (possibly none); non-streaming: accumulates only.
  std::string Poll(std::chrono::steady_clock::time_point deadline, bool streaming);

  bool is_done() const;
  // A choice ended with an engine error (stream backlog overflow, engine failure).
  const Status& error() const { return error_; }
  // True once any stream has left the queue (prefill started or output arrived).
  bool has_started() const { return started_; }
  void Cancel();  // stops every stream

  // SSE: the opening chunks (chat: the role of every choice; completions with echo: the
  // prompt text). Call once, before the first Poll.
  std::string StreamPreamble();
  // SSE: the usage chunk (when asked) and [DONE]; an error event first when error() is set.
  // Choices cut off without a final chunk (timeout, shutdown) get finish_reason "abort".
  std::string StreamEpilogue();

  // The whole response body. REQUIRES: is_done().
  nlohmann::ordered_json Response() const;

 private:
  struct Choice {
    ChoiceSetup setup;
    std::string text;       // answer (chat content / completion text)
    std::string reasoning;  // chat reasoning_content
    std::optional<ReasoningParser> parser;
    nlohmann::ordered_json logprobs;  // chat: content list; completions: the columns
    size_t text_bytes = 0;            // completions: bytes of text so far (logprob offsets)
    FinishReason finish = FinishReason::kNone;
    Usage usage;
    size_t content_sent = 0;      // streaming with tools: bytes of `text` sent as content
    std::vector<ToolCall> calls;  // parsed at the end
    std::string final_content;    // with calls: the content before them
  };

  // Streaming with tools: the content to send now, and at the end the parsed calls.
  std::string ToolAwareContent(Choice& c, bool finished);
  nlohmann::ordered_json ToolCallsJson(size_t choice, const Choice& c) const;

  // Applies one chunk to choice i; returns its SSE events when streaming.
  std::string Apply(size_t i, StreamChunk chunk, bool streaming);
  nlohmann::ordered_json Chunk(nlohmann::ordered_json choice) const;
  Usage TotalUsage() const;

  GenerationOptions options_;
  std::vector<Choice> choices_;
  const text::Tokenizer* tokenizer_;
  Status error_;
  bool started_ = false;
};

}  // namespace ts::server
