#include "text/pre_tokenizer.h"

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"

namespace ts::text {
namespace {

using json = nlohmann::json;

std::vector<std::string> Split(const json& config, std::string_view text, bool first = true) {
  Result<PreTokenizer> p = PreTokenizer::Create(config);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  std::string storage;
  std::vector<MatchSpan> pieces;
  EXPECT_TRUE(p->Split(text, first, &storage, &pieces).ok());
  std::vector<std::string> out;
  for (const MatchSpan& m : pieces) out.push_back(storage.substr(m.begin, m.end - m.begin));
  return out;
}

json SplitOn(const std::string& s, const std::string& behavior, bool invert = false) {
  return {
      {"type", "Split"}, {"pattern", {{"String", s}}}, {"behavior", behavior}, {"invert", invert}};
}

using V = std::vector<std::string>;

TEST(PreTokenizerTest, SplitBehaviors) {
  EXPECT_EQ(Split(SplitOn("-", "Isolated"), "a-b--c"), (V{"a", "-", "b", "-", "-", "c"}));
  EXPECT_EQ(Split(SplitOn("-", "Removed"), "a-b--c"), (V{"a", "b", "c"}));
  EXPECT_EQ(Split(SplitOn("-", "MergedWithPrevious"), "a-b--c"), (V{"a-", "b-", "-", "c"}));
  EXPECT_EQ(Split(SplitOn("-", "MergedWithNext"), "a-b--c"), (V{"a", "-b", "-", "-c"}));
  EXPECT_EQ(Split(SplitOn("-", "Contiguous"), "a-b--c"), (V{"a", "-", "b", "--", "c"}));
  EXPECT_EQ(Split(SplitOn("-", "Removed", /*invert=*/true), "a-b--c"), (V{"-", "-", "-"}));
  EXPECT_FALSE(PreTokenizer::Create(SplitOn("-", "Sideways")).ok());
}

TEST(PreTokenizerTest, Gpt2ByteLevelRegexAndPrefixSpace) {
  const json config = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  EXPECT_EQ(Split(config, "Hello world's  42!"), (V{" Hello", " world", "'s", " ", " 42", "!"}));
  Result<PreTokenizer> p = PreTokenizer::Create(config);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->is_byte_level());
}

TEST(PreTokenizerTest, MetaspacePrependSchemes) {
  json config = {{"type", "Metaspace"},
                 {"replacement", "\xE2\x96\x81"},
                 {"prepend_scheme", "always"},
                 {"split", true}};
  EXPECT_EQ(Split(config, "Hey  you"), (V{"\xE2\x96\x81Hey", "\xE2\x96\x81", "\xE2\x96\x81you"}));
  config["split"] = false;
  EXPECT_EQ(Split(config, "Hey you"), (V{"\xE2\x96\x81Hey\xE2\x96\x81you"}));
  config["prepend_scheme"] = "first";
  EXPECT_EQ(Split(config, "Hey", /*first=*/false), (V{"Hey"}));
  EXPECT_EQ(Split(config, "Hey", /*first=*/true), (V{"\xE2\x96\x81Hey"}));
  config["prepend_scheme"] = "never";
  EXPECT_EQ(Split(config, "Hey"), (V{"Hey"}));
}

TEST(PreTokenizerTest, SequenceAndErrors) {
  const json seq = {{"type", "Sequence"},
                    {"pretokenizers",
                     {{{"type", "Split"},
                       {"pattern", {{"Regex", "\\p{N}{1,3}"}}},
                       {"behavior", "Isolated"},
                       {"invert", false}},
                      {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  EXPECT_EQ(Split(seq, "ab12345c"), (V{"ab", "123", "45", "c"}));
  EXPECT_EQ(Split(json(), "whole text"), (V{"whole text"}));
  EXPECT_EQ(Split(seq, ""), V{});
  const json after_byte_level = {
      {"type", "Sequence"}, {"pretokenizers", {{{"type", "ByteLevel"}}, SplitOn("a", "Isolated")}}};
  EXPECT_EQ(PreTokenizer::Create(after_byte_level).status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(PreTokenizer::Create({{"type", "Whitespace"}}).status().code(),
            StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace ts::text
