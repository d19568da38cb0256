// Tool calls in model output, per model family, and the grammars that force a call.
//
//   hermes       Qwen 2.5/3, Hermes: <tool_call>{"name": ..., "arguments": {...}}</tool_call>, any
//                number of them; text before the first call is content.
//   llama3_json  Llama 3.x: the whole answer is {"name": ..., "parameters": {...}} (optionally
//                after <|python_tag|>; several separated by ';' outside strings).
//   mistral      [TOOL_CALLS][{"name": ..., "arguments": {...}}, ...].
// The family comes from the chat template (DetectToolCallFormat) unless --tool-call-parser
// names one. Output that looks like a call but does not parse stays content, as vLLM does: the
// client sees what the model wrote.
//
// Stateless functions; any thread.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "engine/grammar.h"

namespace ts::server {

enum class ToolCallFormat { kHermes, kLlama3Json, kMistral };

Result<ToolCallFormat> ParseToolCallFormat(std::string_view name);
// From the template's markers; nullopt when it shows none (tools then get a 400).
std::optional<ToolCallFormat> DetectToolCallFormat(std::string_view chat_template);

struct ToolCall {
  std::string name;
  std::string arguments;  // JSON text of an object
};

struct ParsedToolOutput {
  std::string content;
  std::vector<ToolCall> calls;
};

// `forced`: the output was constrained to calls (no leading marker for mistral).
ParsedToolOutput ParseToolCalls(ToolCallFormat format, std::string_view text, bool forced);

// Streaming: how many leading bytes of `text` (the answer so far) are surely content, i.e.
// come before anything that could still turn out to start a call.
size_t ContentPrefixLength(ToolCallFormat format, std::string_view text, bool forced);

// The grammar of a forced answer: calls to functions of `tools` (OpenAI tool objects), or to
// `only` when set, each with arguments valid for the function's parameters schema. With
// `parallel`, one or more calls in the family's way of writing several (hermes: blocks one per
// line; llama3_json: separated by "; "; mistral: a longer list), else exactly one.
Result<std::shared_ptr<const Grammar>> ToolCallGrammar(ToolCallFormat format,
                                                       const nlohmann::ordered_json& tools,
                                                       const std::optional<std::string>& only,
                                                       bool parallel);

}  // namespace ts::server
