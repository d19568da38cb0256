#include "text/utf8.h"

#include "gtest/gtest.h"

namespace ts::text {
namespace {

std::string Lossy(std::string_view s) {
  std::string out;
  AppendLossyUtf8(s, &out);
  return out;
}

TEST(Utf8Test, Validates) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("héllo 中文 😀"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE4\xB8"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));
}

// One U+FFFD per maximal invalid subpart, as WHATWG TextDecoder and Python do.
TEST(Utf8Test, LossyReplacesMaximalSubparts) {
  EXPECT_EQ(Lossy("a\xE4\xB8z"), "a\xEF\xBF\xBDz");
  EXPECT_EQ(Lossy("\xF0\x9F\x98"), "\xEF\xBF\xBD");
  EXPECT_EQ(Lossy("\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(Lossy("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(Lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(Lossy("ok 😀"), "ok 😀");
}

TEST(Utf8Test, IncompleteTail) {
  EXPECT_EQ(IncompleteTailLength("abc"), 0u);
  EXPECT_EQ(IncompleteTailLength("a\xF0\x9F\x98"), 3u);
  EXPECT_EQ(IncompleteTailLength("a\xF0\x9F"), 2u);
  EXPECT_EQ(IncompleteTailLength("a\xE4"), 1u);
  EXPECT_EQ(IncompleteTailLength("a\x80"), 0u);         // can never complete
  EXPECT_EQ(IncompleteTailLength("\xE4\xB8\xAD"), 0u);  // complete
  EXPECT_EQ(IncompleteTailLength("\xC0"), 0u);          // invalid lead
}

TEST(Utf8Test, EncodeDecodeRoundTrip) {
  for (const char32_t cp : {U'\0', U'A', U'\u00e9', U'\u4e2d', U'\U0001F600', U'\U0010FFFF'}) {
    std::string s;
    AppendUtf8(cp, &s);
    ASSERT_EQ(ValidSequenceLength(s, 0), s.size());
    EXPECT_EQ(DecodeSequence(s, 0, s.size()), cp);
  }
}

}  // namespace
}  // namespace ts::text
