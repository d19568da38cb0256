#include "text/normalizer.h"

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"

namespace ts::text {
namespace {

using json = nlohmann::json;

std::string Normalize(const json& config, std::string_view text) {
  Result<Normalizer> n = Normalizer::Create(config);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  Result<std::string> out = n->Normalize(text);
  EXPECT_TRUE(out.ok());
  return *out;
}

TEST(NormalizerTest, UnicodeForms) {
  EXPECT_EQ(*UnicodeNormalize("cafe\xCC\x81", "NFC"), "caf\xC3\xA9");
  EXPECT_EQ(*UnicodeNormalize("caf\xC3\xA9", "NFD"), "cafe\xCC\x81");
  EXPECT_EQ(*UnicodeNormalize("\xEF\xAC\x81", "NFKC"), "fi");  // U+FB01 ligature
  EXPECT_EQ(*UnicodeNormalize("\xC2\xBD", "NFKD"),
            "1\xE2\x81\x84"
            "2");
  EXPECT_FALSE(UnicodeNormalize("x", "NFX").ok());
}

// The ASCII fast path must still let an ASCII letter compose with the mark after it and
// reorder marks between ASCII characters.
TEST(NormalizerTest, NfcAroundAsciiRuns) {
  EXPECT_EQ(*UnicodeNormalize("ae\xCC\x81z a\xCC\x80", "NFC"), "a\xC3\xA9z \xC3\xA0");
  EXPECT_EQ(*UnicodeNormalize("q\xCC\xA3\xCC\x87x", "NFC"), "q\xCC\xA3\xCC\x87x");
  EXPECT_EQ(*UnicodeNormalize("q\xCC\x87\xCC\xA3x", "NFC"), "q\xCC\xA3\xCC\x87x");
  EXPECT_EQ(*UnicodeNormalize("\xE1\x84\x80\xE1\x85\xA1", "NFC"), "\xEA\xB0\x80");  // Hangul
  EXPECT_EQ(*UnicodeNormalize("plain ascii", "NFC"), "plain ascii");
}

TEST(NormalizerTest, SentencePieceStyleSequence) {
  const json config = {
      {"type", "Sequence"},
      {"normalizers",
       {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
        {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}}}};
  EXPECT_EQ(Normalize(config, "Hi there"), "\xE2\x96\x81Hi\xE2\x96\x81there");
  EXPECT_EQ(Normalize(config, ""), "");  // nothing is prepended to nothing
}

TEST(NormalizerTest, LowercaseStripAndRegexReplace) {
  EXPECT_EQ(Normalize({{"type", "Lowercase"}}, "ÀB c"), "àb c");
  EXPECT_EQ(Normalize({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}},
                      " \t x y \xE3\x80\x80"),
            "x y");
  EXPECT_EQ(Normalize({{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}},
                      "a   b  c d"),
            "a b c d");
}

TEST(NormalizerTest, NullIsIdentityAndUnknownFails) {
  Result<Normalizer> identity = Normalizer::Create(json());
  ASSERT_TRUE(identity.ok());
  EXPECT_TRUE(identity->is_identity());
  EXPECT_EQ(Normalizer::Create({{"type", "Precompiled"}}).status().code(),
            StatusCode::kUnimplemented);
  EXPECT_FALSE(Normalizer::Create({{"type", "Replace"}}).ok());  // missing fields
}

}  // namespace
}  // namespace ts::text
