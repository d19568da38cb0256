#include "text/added_tokens.h"

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "tiny_tokenizers.h"

namespace ts::text {
namespace {

using json = nlohmann::json;
using testing::AddedToken;

// Sections as "text" or "[id]".
std::vector<std::string> Split(const AddedVocabulary& vocab, std::string_view text,
                               bool parse_special = true, bool normalized = false) {
  std::vector<TextSection> sections;
  vocab.Split(text, normalized, parse_special, &sections);
  std::vector<std::string> out;
  for (const TextSection& s : sections) {
    if (s.token_id < 0) {
      out.emplace_back(text.substr(s.begin, s.end - s.begin));
      continue;
    }
    std::string token = "[";
    token += std::to_string(s.token_id);
    token += ']';
    out.push_back(token);
  }
  return out;
}

AddedVocabulary Make(const std::vector<json>& tokens) {
  Result<AddedVocabulary> v = AddedVocabulary::Create(json(tokens));
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return std::move(v).value();
}

using V = std::vector<std::string>;

TEST(AddedTokensTest, LeftmostLongest) {
  const AddedVocabulary v = Make(
      {AddedToken(10, "<a>", true), AddedToken(11, "<a><b>", true), AddedToken(12, "b>", false)});
  EXPECT_EQ(Split(v, "x<a><b>y<a>b>"), (V{"x", "[11]", "y", "[10]", "[12]"}));
  EXPECT_EQ(Split(v, "<a"), (V{"<a"}));
  EXPECT_EQ(Split(v, ""), (V{""}));
}

TEST(AddedTokensTest, SpecialTokensOnlyWhenParsingSpecial) {
  const AddedVocabulary v = Make({AddedToken(10, "<s>", true), AddedToken(11, "<t>", false)});
  EXPECT_EQ(Split(v, "a<s>b<t>", /*parse_special=*/false), (V{"a<s>b", "[11]"}));
  EXPECT_EQ(Split(v, "a<s>b<t>", /*parse_special=*/true), (V{"a", "[10]", "b", "[11]"}));
}

TEST(AddedTokensTest, StripAndSingleWord) {
  const AddedVocabulary v =
      Make({AddedToken(10, "<m>", true, /*lstrip=*/true, /*rstrip=*/false),
            AddedToken(11, "<n>", true, /*lstrip=*/false, /*rstrip=*/true),
            AddedToken(12, "cat", false, false, false, /*single_word=*/true)});
  EXPECT_EQ(Split(v, "a  <m> b"), (V{"a", "[10]", " b"}));
  EXPECT_EQ(Split(v, "a <n> \t b"), (V{"a ", "[11]", "b"}));
  EXPECT_EQ(Split(v, "cat concat cats cat."), (V{"[12]", " concat cats ", "[12]", "."}));
}

TEST(AddedTokensTest, NormalizedTokensMatchInTheirPass) {
  const AddedVocabulary v = Make(
      {AddedToken(10, "<raw>", true), AddedToken(11, "<norm>", true, false, false, false, true)});
  EXPECT_EQ(Split(v, "<raw><norm>", true, /*normalized=*/false), (V{"[10]", "<norm>"}));
  EXPECT_EQ(Split(v, "<raw><norm>", true, /*normalized=*/true), (V{"<raw>", "[11]"}));
}

TEST(AddedTokensTest, LookupsAndErrors) {
  const AddedVocabulary v = Make({AddedToken(10, "<s>", true)});
  EXPECT_EQ(v.FindByContent("<s>"), 10);
  EXPECT_EQ(v.FindById(10)->content, "<s>");
  EXPECT_EQ(v.FindById(11), nullptr);
  EXPECT_FALSE(AddedVocabulary::Create(json::array({AddedToken(1, "", true)})).ok());
  EXPECT_FALSE(
      AddedVocabulary::Create(json::array({AddedToken(1, "x", true), AddedToken(1, "y", true)}))
          .ok());
  EXPECT_FALSE(AddedVocabulary::Create(json::array({{{"id", 1}}})).ok());
}

}  // namespace
}  // namespace ts::text
