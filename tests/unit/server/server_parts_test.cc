// Reasoning parser, auth, byte sizes and SSE/response serialization.
#include <gtest/gtest.h>

#include "server/auth.h"
#include "server/byte_size.h"
#include "server/openai_response.h"
#include "server/reasoning_parser.h"

namespace ts::server {
namespace {

// Feeds `text` one byte at a time and in one piece; both must agree.
ReasoningDelta Parse(const std::string& text, bool starts_in_reasoning, bool bytewise) {
  ReasoningParser p("<think>", "</think>", starts_in_reasoning);
  ReasoningDelta all;
  auto add = [&](const ReasoningDelta& d) {
    all.reasoning += d.reasoning;
    all.content += d.content;
  };
  if (bytewise) {
    for (char c : text) add(p.Push(std::string(1, c)));
  } else {
    add(p.Push(text));
  }
  add(p.Finish());
  return all;
}

TEST(ReasoningParser, SplitsThinkBlock) {
  for (bool bytewise : {false, true}) {
    ReasoningDelta d = Parse("<think>\nhmm\n</think>\n\nanswer", false, bytewise);
    EXPECT_EQ(d.reasoning, "\nhmm\n");
    EXPECT_EQ(d.content, "answer");
    d = Parse("plain answer <think>", false, bytewise);
    EXPECT_EQ(d.reasoning, "");
    EXPECT_EQ(d.content, "plain answer <think>");
    d = Parse("still thinking", true, bytewise);
    EXPECT_EQ(d.reasoning, "still thinking");
    d = Parse("x</think>y", true, bytewise);
    EXPECT_EQ(d.reasoning, "x");
    EXPECT_EQ(d.content, "y");
    d = Parse("<thi", false, bytewise);
    EXPECT_EQ(d.content, "<thi");
    d = Parse("<think>unfinished </thi", false, bytewise);
    EXPECT_EQ(d.reasoning, "unfinished </thi");
  }
}

TEST(ReasoningParser, HoldsBackOnlyPartialTags) {
  ReasoningParser p("<think>", "</think>", /*starts_in_reasoning=*/true);
  EXPECT_EQ(p.Push("abc</").reasoning, "abc");
  EXPECT_EQ(p.Push("b").reasoning, "</b");
}

TEST(Auth, BearerKey) {
  EXPECT_TRUE(IsAuthorized("", ""));
  EXPECT_TRUE(IsAuthorized("Bearer k1", "k1"));
  EXPECT_FALSE(IsAuthorized("Bearer k2", "k1"));
  EXPECT_FALSE(IsAuthorized("Bearer k", "k1"));
  EXPECT_FALSE(IsAuthorized("Bearer k11", "k1"));
  EXPECT_FALSE(IsAuthorized("k1", "k1"));
  EXPECT_FALSE(IsAuthorized("", "k1"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("a", ""));
}

TEST(ByteSize, Units) {
  EXPECT_EQ(*ParseByteSize("4GiB"), 4ll << 30);
  EXPECT_EQ(*ParseByteSize("512MB"), 512'000'000);
  EXPECT_EQ(*ParseByteSize("64k"), 64 << 10);
  EXPECT_EQ(*ParseByteSize("100"), 100);
  EXPECT_EQ(*ParseByteSize("1b"), 1);
  EXPECT_FALSE(ParseByteSize("").ok());
  EXPECT_FALSE(ParseByteSize("GiB").ok());
  EXPECT_FALSE(ParseByteSize("1.5GiB").ok());
  EXPECT_FALSE(ParseByteSize("-1").ok());
  EXPECT_FALSE(ParseByteSize("99999999999TiB").ok());
  EXPECT_EQ(FormatByteSize(3 << 20), "3.0 MiB");
}

TEST(Serialization, UsageAndSse) {
  Usage u;
  u.prompt_tokens = 10;
  u.completion_tokens = 5;
  u.cached_tokens = 8;
  u.cached_tokens_ram = 8;
  nlohmann::ordered_json j = UsageJson(u);
  EXPECT_EQ(j["total_tokens"], 15);
  EXPECT_EQ(j["prompt_tokens_details"]["cached_tokens"], 8);
  EXPECT_EQ(SseData({{"a", 1}}), "data: {\"a\":1}\n\n");
  EXPECT_EQ(std::string(FinishReasonText(FinishReason::kLength)), "length");
  EXPECT_EQ(std::string(FinishReasonText(FinishReason::kCancelled)), "abort");
  // Invalid UTF-8 (a lone token's partial character) is replaced, never thrown on.
  EXPECT_EQ(DumpJson(nlohmann::ordered_json("\xe4")), "\"\xef\xbf\xbd\"");
  nlohmann::ordered_json r =
      ResponseJson({"id1", "chat.completion", 7, "m"}, nlohmann::ordered_json::array());
  EXPECT_EQ(DumpJson(r),
            R"({"id":"id1","object":"chat.completion","created":7,"model":"m","choices":[]})");
}

}  // namespace
}  // namespace ts::server
