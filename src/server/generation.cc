#include "server/generation.h"

#include "server/api_error.h"

namespace ts::server {

using nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

Generation::Generation(GenerationOptions options, std::vector<ChoiceSetup> choices,
                       const text::Tokenizer* tokenizer)
    : options_(std::move(options)), tokenizer_(tokenizer) {
  choices_.reserve(choices.size());
  for (ChoiceSetup& setup : choices) {
    Choice c;
    c.setup = std::move(setup);
    c.text_bytes = c.setup.echo_text.size();
    if (options_.kind == ApiKind::kChat && !options_.reasoning_open_tag.empty()) {
      c.parser.emplace(options_.reasoning_open_tag, options_.reasoning_close_tag,
                       options_.starts_in_reasoning);
    }
    if (options_.logprobs && options_.kind == ApiKind::kChat) c.logprobs = ordered_json::array();
    choices_.push_back(std::move(c));
  }
}

Generation::~Generation() { Cancel(); }

void Generation::Cancel() {
  for (Choice& c : choices_) {
    if (c.finish == FinishReason::kNone) c.setup.stream->Cancel();
  }
}

bool Generation::is_done() const {
  for (const Choice& c : choices_) {
    if (c.finish == FinishReason::kNone) return false;
  }
  return true;
}

std::string Generation::Poll(Clock::time_point deadline, bool streaming) {
  std::string events;
  bool got = false;
  size_t num_open = 0;
  size_t first_open = 0;
  for (size_t i = 0; i < choices_.size(); ++i) {
    if (choices_[i].finish != FinishReason::kNone) continue;
    if (num_open++ == 0) first_open = i;
    if (std::optional<StreamChunk> chunk = choices_[i].setup.stream->Next(Clock::time_point{})) {
      events += Apply(i, std::move(*chunk), streaming);
      got = true;
    }
  }
  if (got || num_open == 0) return events;
  // Nothing pending: sleep on one stream. With several open, wake soon to look at the others
  // (RequestStream has no shared wake-up).
  const Clock::time_point wait =
      num_open > 1 ? std::min(deadline, Clock::now() + std::chrono::milliseconds(10)) : deadline;
  if (std::optional<StreamChunk> chunk = choices_[first_open].setup.stream->Next(wait)) {
    events += Apply(first_open, std::move(*chunk), streaming);
  }
  return events;
}

ordered_json Generation::Chunk(ordered_json choice) const {
  ordered_json chunk =
      ResponseJson({options_.header.id,
                    options_.kind == ApiKind::kChat ? "chat.completion.chunk" : "text_completion",
                    options_.header.created, options_.header.model},
                   ordered_json::array({std::move(choice)}));
  if (options_.include_usage) chunk["usage"] = nullptr;
  return chunk;
}

std::string Generation::Apply(size_t i, StreamChunk chunk, bool streaming) {
  Choice& c = choices_[i];
  started_ = true;
  const bool is_chat = options_.kind == ApiKind::kChat;
  ReasoningDelta delta;
  if (c.parser) {
    delta = c.parser->Push(chunk.text);
    if (chunk.finish != FinishReason::kNone) {
      ReasoningDelta rest = c.parser->Finish();
      delta.reasoning += rest.reasoning;
      delta.content += rest.content;
    }
  } else {
    delta.content = std::move(chunk.text);
  }
  c.text += delta.content;
  c.reasoning += delta.reasoning;
  if (is_chat && options_.tool_format) {
    delta.content = ToolAwareContent(c, chunk.finish != FinishReason::kNone);
  }

  ordered_json logprobs = nullptr;
  if (options_.logprobs) {
    if (is_chat) {
      if (!chunk.logprobs.empty()) {
        logprobs = ChatLogprobsJson(chunk.logprobs, *tokenizer_);
        for (auto& entry : logprobs["content"]) c.logprobs.push_back(entry);
      }
    } else {
      if (!chunk.prompt_logprobs.empty()) {
        logprobs = CompletionLogprobsJson(chunk.prompt_logprobs, *tokenizer_, 0);
      }
      if (!chunk.logprobs.empty()) {
        ordered_json generated = CompletionLogprobsJson(chunk.logprobs, *tokenizer_, c.text_bytes);
        AppendCompletionLogprobs(&logprobs, generated);
      }
      if (!logprobs.is_null()) AppendCompletionLogprobs(&c.logprobs, logprobs);
    }
  }
  c.text_bytes += delta.content.size();
  if (chunk.finish != FinishReason::kNone) {
    c.finish = chunk.finish;
    c.usage = chunk.usage;
    if (chunk.finish == FinishReason::kError && error_.ok()) {
      error_ = chunk.error.ok() ? Internal("the engine failed this request") : chunk.error;
    }
  }
  if (!streaming) return {};

  std::string events;
  const int index = static_cast<int>(i);
  const bool has_output = !delta.content.empty() || !delta.reasoning.empty() || !logprobs.is_null();
  if (has_output) {
    if (is_chat) {
      ordered_json d = ordered_json::object();
      if (!delta.reasoning.empty()) d["reasoning_content"] = delta.reasoning;
      if (!delta.content.empty()) d["content"] = delta.content;
      events += SseData(Chunk({{"index", index},
                               {"delta", std::move(d)},
                               {"logprobs", std::move(logprobs)},
                               {"finish_reason", nullptr}}));
    } else {
      events += SseData(Chunk({{"index", index},
                               {"text", delta.content},
                               {"logprobs", std::move(logprobs)},
                               {"finish_reason", nullptr}}));
    }
  }
  if (!c.calls.empty()) {
    // As OpenAI streams them: each call's id and name with empty arguments, then the arguments.
    ordered_json calls = ToolCallsJson(i, c);
    for (size_t k = 0; k < calls.size(); ++k) {
      ordered_json head = calls[k];
      head["function"]["arguments"] = "";
      const ordered_json args = {{"index", static_cast<int>(k)},
                                 {"function", {{"arguments", calls[k]["function"]["arguments"]}}}};
      for (const ordered_json& call : {head, args}) {
        events += SseData(Chunk({{"index", index},
                                 {"delta", {{"tool_calls", ordered_json::array({call})}}},
                                 {"logprobs", nullptr},
                                 {"finish_reason", nullptr}}));
      }
    }
  }
  if (c.finish != FinishReason::kNone && c.finish != FinishReason::kError) {
    ordered_json done = {{"index", index}};
    if (is_chat) {
      done["delta"] = ordered_json::object();
    } else {
      done["text"] = "";
    }
    done["logprobs"] = nullptr;
    done["finish_reason"] = c.calls.empty() ? FinishReasonText(c.finish) : "tool_calls";
    events += SseData(Chunk(std::move(done)));
  }
  return events;
}

std::string Generation::ToolAwareContent(Choice& c, bool finished) {
  const bool forced = options_.tool_call_forced;
  if (!finished) {
    const size_t safe = ContentPrefixLength(*options_.tool_format, c.text, forced);
    if (safe <= c.content_sent) return "";
    std::string out = c.text.substr(c.content_sent, safe - c.content_sent);
    c.content_sent = safe;
    return out;
  }
  ParsedToolOutput parsed = ParseToolCalls(*options_.tool_format, c.text, forced);
  c.calls = std::move(parsed.calls);
  // parallel_tool_calls false: one call at most (forced output has only one; free text may
  // still hold several).
  if (!options_.parallel_tool_calls && c.calls.size() > 1) c.calls.resize(1);
  c.final_content = c.calls.empty() ? c.text : std::move(parsed.content);
  // What was sent is a prefix of the text before the first call; the final content may be
  // shorter (trailing whitespace trimmed), never different.
  if (c.final_content.size() <= c.content_sent) return "";
  return c.final_content.substr(c.content_sent);
}

ordered_json Generation::ToolCallsJson(size_t choice, const Choice& c) const {
  ordered_json calls = ordered_json::array();
  for (size_t k = 0; k < c.calls.size(); ++k) {
    calls.push_back(
        {{"index", static_cast<int>(k)},
         {"id",
          "call_" + options_.header.id + "_" + std::to_string(choice) + "_" + std::to_string(k)},
         {"type", "function"},
         {"function", {{"name", c.calls[k].name}, {"arguments", c.calls[k].arguments}}}});
  }
  return calls;
}

std::string Generation::StreamPreamble() {
  std::string events;
  for (size_t i = 0; i < choices_.size(); ++i) {
    const int index = static_cast<int>(i);
    if (options_.kind == ApiKind::kChat) {
      events += SseData(Chunk({{"index", index},
                               {"delta", {{"role", "assistant"}, {"content", ""}}},
                               {"logprobs", nullptr},
                               {"finish_reason", nullptr}}));
    } else if (!choices_[i].setup.echo_text.empty()) {
      events += SseData(Chunk({{"index", index},
                               {"text", choices_[i].setup.echo_text},
                               {"logprobs", nullptr},
                               {"finish_reason", nullptr}}));
    }
  }
  return events;
}

std::string Generation::StreamEpilogue() {
  std::string events;
  if (!error_.ok()) {
    events += SseData(ordered_json(ToApiError(error_).body));
  }
  for (size_t i = 0; i < choices_.size(); ++i) {
    if (choices_[i].finish != FinishReason::kNone) continue;
    ordered_json done = {{"index", static_cast<int>(i)}};
    if (options_.kind == ApiKind::kChat) {
      done["delta"] = ordered_json::object();
    } else {
      done["text"] = "";
    }
    done["logprobs"] = nullptr;
    done["finish_reason"] = FinishReasonText(FinishReason::kCancelled);
    events += SseData(Chunk(std::move(done)));
  }
  if (options_.include_usage) {
    ordered_json usage =
        ResponseJson({options_.header.id,
                      options_.kind == ApiKind::kChat ? "chat.completion.chunk" : "text_completion",
                      options_.header.created, options_.header.model},
                     ordered_json::array());
    usage["usage"] = UsageJson(TotalUsage());
    events += SseData(usage);
  }
  events += kSseDone;
  return events;
}

Usage Generation::TotalUsage() const {
  Usage total;
  for (const Choice& c : choices_) {
    total.completion_tokens += c.usage.completion_tokens;
    if (!c.setup.counts_prompt) continue;
    // The engine reports 0 prompt tokens for a request that never started; the prompt was
    // still the client's.
    total.prompt_tokens += c.setup.prompt_tokens;
    total.cached_tokens += c.usage.cached_tokens;
    total.cached_tokens_ram += c.usage.cached_tokens_ram;
    total.cached_tokens_ssd += c.usage.cached_tokens_ssd;
  }
  return total;
}

ordered_json Generation::Response() const {
  const bool is_chat = options_.kind == ApiKind::kChat;
  ordered_json choices = ordered_json::array();
  for (size_t i = 0; i < choices_.size(); ++i) {
    const Choice& c = choices_[i];
    ordered_json choice = {{"index", static_cast<int>(i)}};
    if (is_chat) {
      ordered_json message = {{"role", "assistant"}, {"content", c.text}};
      if (!c.calls.empty()) {
        message["content"] =
            c.final_content.empty() ? ordered_json(nullptr) : ordered_json(c.final_content);
        ordered_json calls = ToolCallsJson(i, c);
        for (ordered_json& call : calls) call.erase("index");
        message["tool_calls"] = std::move(calls);
      }
      if (c.parser) {
        message["reasoning_content"] =
            c.reasoning.empty() ? ordered_json(nullptr) : ordered_json(c.reasoning);
      }
      choice["message"] = std::move(message);
      choice["logprobs"] =
          options_.logprobs ? ordered_json{{"content", c.logprobs}} : ordered_json(nullptr);
    } else {
      choice["text"] = c.setup.echo_text + c.text;
      choice["logprobs"] = c.logprobs;
    }
    choice["finish_reason"] = c.calls.empty() ? FinishReasonText(c.finish) : "tool_calls";
    choices.push_back(std::move(choice));
  }
  ordered_json response =
      ResponseJson({options_.header.id, is_chat ? "chat.completion" : "text_completion",
                    options_.header.created, options_.header.model},
                   std::move(choices));
  response["usage"] = UsageJson(TotalUsage());
  return response;
}

}  // namespace ts::server
