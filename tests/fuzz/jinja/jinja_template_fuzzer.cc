// Fuzz target: any bytes as a chat template source. Parsing either fails cleanly or yields a
// template, which is rendered against a small conversation under tight limits; both must end
// (no hang, crash, sanitizer report or unbounded memory) with an output or a Status.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "text/jinja/template.h"

namespace {

const nlohmann::ordered_json& Context() {
  static const auto* context = new nlohmann::ordered_json(nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "sys"},
      {"role": "user", "content": "hi <think>x</think>"},
      {"role": "assistant", "content": "", "reasoning_content": "r",
       "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": [1, 2.5, null]}}}]},
      {"role": "tool", "content": "42"},
      {"role": "user", "content": [{"type": "text", "text": "part"}, {"type": "image"}]}
    ],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "add_generation_prompt": true, "enable_thinking": false,
    "bos_token": "<s>", "eos_token": "</s>"
  })"));
  return *context;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string_view source(reinterpret_cast<const char*>(data), size);
  auto parsed = ts::jinja::Template::Parse(source);
  if (!parsed.ok()) return 0;
  ts::jinja::RenderLimits limits;
  limits.max_steps = 200'000;
  limits.max_alloc_bytes = 16u << 20;
  limits.max_output_bytes = 1u << 20;
  // An output and an error are both fine outcomes; only termination is checked.
  static_cast<void>(parsed->Render(Context(), limits));
  return 0;
}
