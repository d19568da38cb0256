#include "text/regex.h"

#include "gtest/gtest.h"

namespace ts::text {
namespace {

std::vector<std::string> Pieces(const Regex& regex, std::string_view text) {
  std::vector<MatchSpan> matches;
  EXPECT_TRUE(regex.FindAll(text, &matches).ok());
  std::vector<std::string> out;
  for (const MatchSpan& m : matches) out.emplace_back(text.substr(m.begin, m.end - m.begin));
  return out;
}

// JavaScript's \s excludes U+0085 and includes U+FEFF; PCRE2's is the other way round.
TEST(RegexTest, WhitespaceFollowsJavaScript) {
  Result<Regex> space = Regex::Compile("\\s+");
  ASSERT_TRUE(space.ok());
  EXPECT_EQ(Pieces(*space,
                   "a\xC2\x85"
                   "b\xEF\xBB\xBF"
                   "c \t\v"),
            (std::vector<std::string>{"\xEF\xBB\xBF", " \t\v"}));
  Result<Regex> non_space = Regex::Compile("\\S+");
  ASSERT_TRUE(non_space.ok());
  EXPECT_EQ(Pieces(*non_space, "x\xC2\x85y z"), (std::vector<std::string>{"x\xC2\x85y", "z"}));
}

TEST(RegexTest, AsciiDigitsAndWordsFollowJavaScript) {
  Result<Regex> digits = Regex::Compile("\\d+");
  ASSERT_TRUE(digits.ok());
  EXPECT_EQ(Pieces(*digits,
                   "12\xD9\xA3"
                   "4"),
            (std::vector<std::string>{"12", "4"}));  // U+0663
  Result<Regex> word = Regex::Compile("\\w+");
  ASSERT_TRUE(word.ok());
  EXPECT_EQ(Pieces(*word, "ab\xC3\xA9_c"), (std::vector<std::string>{"ab", "_c"}));
}

// The case-insensitive contraction group is rewritten with explicit cases, so it does not
// match U+017F (long s), which PCRE2's caseless 's' would.
TEST(RegexTest, ContractionGroupIsExplicitCase) {
  Result<Regex> r = Regex::Compile("(?i:'s|'t|'re|'ve|'m|'ll|'d)");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Pieces(*r, "it's IT'S it'LL it\xC5\xBF"),
            (std::vector<std::string>{"'s", "'S", "'LL"}));
}

TEST(RegexTest, DotExcludesLineTerminators) {
  Result<Regex> r = Regex::Compile(".+");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Pieces(*r,
                   "ab\xE2\x80\xA8"
                   "cd\re"),
            (std::vector<std::string>{"ab", "cd", "e"}));
}

TEST(RegexTest, UnicodeEscapesAndLiterals) {
  Result<Regex> r = Regex::Compile("[\\u4e00-\\u9fa5]+");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Pieces(*r, "ab中文cd"), (std::vector<std::string>{"中文"}));
  Result<Regex> literal = Regex::Literal("a.b");
  ASSERT_TRUE(literal.ok());
  EXPECT_EQ(Pieces(*literal, "a.b axb a.b"), (std::vector<std::string>{"a.b", "a.b"}));
}

TEST(RegexTest, EmptyMatchesAdvanceOneCharacter) {
  Result<Regex> r = Regex::Compile("x*");
  ASSERT_TRUE(r.ok());
  std::vector<MatchSpan> matches;
  ASSERT_TRUE(r->FindAll("中x", &matches).ok());
  ASSERT_EQ(matches.size(), 3u);  // "" at 0, "x" at 3, "" at the end
  EXPECT_EQ(matches[1].begin, 3u);
  EXPECT_EQ(matches[1].end, 4u);
}

TEST(RegexTest, RejectsWhatItCannotTranslate) {
  EXPECT_FALSE(Regex::Compile("(unclosed").ok());
  EXPECT_EQ(Regex::Compile("\\bword\\b").status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(Regex::Compile("[\\S]").status().code(), StatusCode::kUnimplemented);
  EXPECT_FALSE(Regex::Literal("").ok());
}

TEST(RegexTest, TranslationKeepsEscapes) {
  Result<std::string> p = TranslateJsPattern("\\p{L}\\s[^\\s\\p{N}]\\.");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->find("\\s"), std::string::npos);
  EXPECT_NE(p->find("\\p{L}"), std::string::npos);
  EXPECT_NE(p->find("\\."), std::string::npos);
}

}  // namespace
}  // namespace ts::text
