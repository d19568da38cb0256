#include "text/tokenizer.h"

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "text/decoder.h"
#include "tiny_tokenizers.h"

namespace ts::text {
namespace {

using json = nlohmann::json;
using testing::AddedToken;
using testing::ByteLevel;
using testing::ByteLevelTokenizer;
using testing::MustBuild;

// ids of the single-byte tokens of the tiny byte-level tokenizer are the byte values.
std::vector<int32_t> Bytes(std::string_view s) {
  std::vector<int32_t> ids;
  for (const char c : s) ids.push_back(static_cast<uint8_t>(c));
  return ids;
}

TEST(TokenizerTest, ByteLevelEncodeAndDecode) {
  const Tokenizer t = MustBuild(ByteLevelTokenizer({{"h", "i"}, {" ", "t"}}));
  // Merges: "hi"=256, " t"=257; the rest of " there" stays single bytes.
  Result<std::vector<int32_t>> ids = t.Encode("hi there");
  ASSERT_TRUE(ids.ok());
  std::vector<int32_t> want = {256, 257};
  for (const char c : std::string("here")) want.push_back(static_cast<uint8_t>(c));
  EXPECT_EQ(*ids, want);
  EXPECT_EQ(*t.Decode(*ids), "hi there");
  EXPECT_EQ(*t.Encode("\xE4\xB8\xAD"), Bytes("\xE4\xB8\xAD"));
  EXPECT_EQ(*t.IdToToken(256), "hi");
  EXPECT_EQ(t.TokenToId(ByteLevel(" t")), 257);
  EXPECT_EQ(t.vocab_size(), 258);
}

TEST(TokenizerTest, RejectsInvalidInput) {
  const Tokenizer t = MustBuild(ByteLevelTokenizer({}));
  EXPECT_EQ(t.Encode("bad \xC3").status().code(), StatusCode::kInvalidArgument);
  const std::vector<int32_t> negative = {1, -5};
  EXPECT_EQ(t.Decode(negative).status().code(), StatusCode::kInvalidArgument);
  // Ids past the vocabulary (padding rows of an embedding) decode to nothing.
  const std::vector<int32_t> beyond = {'a', 1 << 30, 'b'};
  EXPECT_EQ(*t.Decode(beyond), "ab");
}

TEST(TokenizerTest, SpecialTokensParseSkipAndAddSpecial) {
  json tokenizer_json =
      ByteLevelTokenizer({}, {AddedToken(300, "<|bos|>", true), AddedToken(301, "<think>", false)});
  tokenizer_json["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single",
       {{{"SpecialToken", {{"id", "<|bos|>"}, {"type_id", 0}}}},
        {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
      {"special_tokens",
       {{"<|bos|>", {{"id", "<|bos|>"}, {"ids", {300}}, {"tokens", {"<|bos|>"}}}}}}};
  const Tokenizer t = MustBuild(tokenizer_json, R"({"bos_token": "<|bos|>"})");
  EXPECT_EQ(t.bos_id(), 300);
  EXPECT_TRUE(t.IsSpecial(300));
  EXPECT_FALSE(t.IsSpecial(301));

  std::vector<int32_t> want = {300};
  for (const int32_t id : Bytes("a")) want.push_back(id);
  want.push_back(301);
  EXPECT_EQ(*t.Encode("<|bos|>a<think>"), want);

  EncodeOptions plain;
  plain.parse_special = false;
  std::vector<int32_t> literal = Bytes("<|bos|>");
  literal.push_back(301);
  EXPECT_EQ(*t.Encode("<|bos|><think>", plain), literal);

  EncodeOptions add_special;
  add_special.add_special = true;
  EXPECT_EQ(*t.Encode("a", add_special), (std::vector<int32_t>{300, 'a'}));

  DecodeOptions skip;
  skip.skip_special = true;
  EXPECT_EQ(*t.Decode(want), "<|bos|>a<think>");
  EXPECT_EQ(*t.Decode(want, skip), "a<think>");
}

// SentencePiece style (Llama 2): Prepend + Replace normalizer, byte fallback, Strip decoder.
json SentencePieceTokenizer() {
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  int next = 3;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    vocab[name] = next++;
  }
  for (const char* piece : {"\xE2\x96\x81", "H", "i", "\xE2\x96\x81H", "\xE2\x96\x81Hi", "!"}) {
    vocab[piece] = next++;
  }
  return {
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}}}}},
      {"pre_tokenizer", nullptr},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
      {"added_tokens",
       {AddedToken(0, "<unk>", true), AddedToken(1, "<s>", true), AddedToken(2, "</s>", true)}},
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        {"merges",
         json::array({json::array({"\xE2\x96\x81", "H"}), json::array({"\xE2\x96\x81H", "i"})})},
        {"unk_token", "<unk>"},
        {"byte_fallback", true},
        {"fuse_unk", true}}},
  };
}

TEST(TokenizerTest, SentencePieceStyle) {
  const Tokenizer t = MustBuild(SentencePieceTokenizer(),
                                R"({"tokenizer_class": "LlamaTokenizerFast", "add_bos_token": true,
                                    "add_eos_token": true, "bos_token": "<s>",
                                    "eos_token": {"content": "</s>", "__type": "AddedToken"}})");
  const int32_t hi = *t.TokenToId("\xE2\x96\x81Hi");
  const int32_t bang = *t.TokenToId("!");
  const int32_t space = *t.TokenToId("\xE2\x96\x81");
  const int32_t a9 = 3 + 0xA9;
  const int32_t c3 = 3 + 0xC3;
  EXPECT_EQ(*t.Encode("Hi!"), (std::vector<int32_t>{hi, bang}));
  EXPECT_EQ(*t.Encode("Hi \xC3\xA9"), (std::vector<int32_t>{hi, space, c3, a9}));
  // add_bos_token/add_eos_token rebuild the template, as transformers' LlamaTokenizerFast does.
  EncodeOptions add_special;
  add_special.add_special = true;
  EXPECT_EQ(*t.Encode("Hi", add_special), (std::vector<int32_t>{1, hi, 2}));
  // Prepend applies to each stretch between added tokens.
  EXPECT_EQ(*t.Encode("Hi<s>Hi"), (std::vector<int32_t>{hi, 1, hi}));
  // Decode: leading space stripped once; byte tokens joined into characters.
  const std::vector<int32_t> ids = {hi, space, c3, a9, bang};
  EXPECT_EQ(*t.Decode(ids), "Hi \xC3\xA9!");
  const std::vector<int32_t> broken = {hi, c3, bang};
  EXPECT_EQ(*t.Decode(broken), "Hi\xEF\xBF\xBD!");
  EXPECT_EQ(t.decoder().leading_spaces_to_strip(), 1u);
}

TEST(TokenizerTest, CleanUpTokenizationSpaces) {
  EXPECT_EQ(CleanUpTokenizationSpaces("a , b . c ! d ? I 'm e n't f 's 've 're ' g"),
            "a, b. c! d? I'm en't f's've're'g");
  const Tokenizer t =
      MustBuild(ByteLevelTokenizer({}), R"({"clean_up_tokenization_spaces": true})");
  const std::vector<int32_t> ids = Bytes("a .");
  EXPECT_EQ(*t.Decode(ids), "a.");
  DecodeOptions raw;
  raw.clean_up_spaces = false;
  EXPECT_EQ(*t.Decode(ids, raw), "a .");
}

TEST(TokenizerTest, LoadFromFolder) {
  char dir_template[] = "/tmp/ts_tokenizer_test_XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  EXPECT_EQ(Tokenizer::Load(dir).status().code(), StatusCode::kNotFound);
  std::ofstream(dir + "/tokenizer.json") << "{not json";
  EXPECT_EQ(Tokenizer::Load(dir).status().code(), StatusCode::kInvalidArgument);
  std::ofstream(dir + "/tokenizer.json") << ByteLevelTokenizer({}).dump();
  std::ofstream(dir + "/tokenizer_config.json")
      << R"({"eos_token": "<|e|>", "chat_template": [{"name": "default", "template": "T"}]})";
  std::ofstream(dir + "/special_tokens_map.json")
      << R"({"eos_token": "ignored", "bos_token": "a"})";
  Result<Tokenizer> t = Tokenizer::Load(dir);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->eos_token(), "<|e|>");
  EXPECT_EQ(t->bos_token(), "a");
  EXPECT_EQ(t->bos_id(), 'a');
  EXPECT_EQ(t->chat_template(), "T");
  std::ofstream(dir + "/chat_template.jinja") << "J";
  EXPECT_EQ(Tokenizer::Load(dir)->chat_template(), "J");
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                        "chat_template.jinja"}) {
    std::remove((dir + "/" + f).c_str());
  }
  rmdir(dir.c_str());
}

TEST(TokenizerTest, UnsupportedPiecesFailToLoad) {
  json j = ByteLevelTokenizer({});
  j["decoder"] = {{"type", "WordPiece"}};
  EXPECT_EQ(Tokenizer::FromFiles({.tokenizer_json = j.dump(),
                                  .tokenizer_config_json = "",
                                  .special_tokens_map_json = "",
                                  .chat_template = ""})
                .status()
                .code(),
            StatusCode::kUnimplemented);
  EXPECT_FALSE(Tokenizer::FromFiles({.tokenizer_json = "[]",
                                     .tokenizer_config_json = "",
                                     .special_tokens_map_json = "",
                                     .chat_template = ""})
                   .ok());
  EXPECT_FALSE(Tokenizer::FromFiles({.tokenizer_json = ByteLevelTokenizer({}).dump(),
                                     .tokenizer_config_json = "[1]",
                                     .special_tokens_map_json = "",
                                     .chat_template = ""})
                   .ok());
}

}  // namespace
}  // namespace ts::text
