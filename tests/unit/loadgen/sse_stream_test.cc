#include "app/bench/sse_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ts::loadgen {
namespace {

std::vector<std::string> FeedInPieces(const std::string& stream, size_t piece) {
  SseParser parser;
  std::vector<std::string> events;
  for (size_t i = 0; i < stream.size(); i += piece) {
    parser.Feed(std::string_view(stream).substr(i, piece),
                [&](std::string_view e) { events.emplace_back(e); });
  }
  return events;
}

TEST(SseParserTest, SameEventsWhateverThePieceSize) {
  const std::string stream =
      ": keep-alive comment\n"
      "data: {\"a\":1}\n\n"
      "event: message\r\n"
      "data: {\"b\":2}\r\n\r\n"
      "data:no-space\n\n"
      "data: line one\n"
      "data: line two\n\n"
      "id: 7\n\n"
      "data: [DONE]\n\n";
  const std::vector<std::string> want = {"{\"a\":1}", "{\"b\":2}", "no-space", "line one\nline two",
                                         "[DONE]"};
  for (size_t piece = 1; piece <= stream.size(); ++piece) {
    EXPECT_EQ(FeedInPieces(stream, piece), want) << "piece " << piece;
  }
}

TEST(SseParserTest, AnUnfinishedEventIsNotDelivered) {
  EXPECT_TRUE(FeedInPieces("data: {\"a\":1}\n", 4).empty());
  EXPECT_TRUE(FeedInPieces("data: {\"a\":1}", 100).empty());
}

std::string CompletionChunk(const std::string& text) {
  return R"({"object":"text_completion","choices":[{"index":0,"text":")" + text +
         R"(","finish_reason":null}]})";
}

TEST(StreamTimerTest, TimesContentChunksAndReadsUsage) {
  StreamTimer timer;
  timer.OnEvent(R"({"choices":[{"index":0,"text":""}]})", 0.05);  // empty: not a token
  timer.OnEvent(CompletionChunk("Hello"), 0.5);
  timer.OnEvent(CompletionChunk(" world"), 0.6);
  timer.OnEvent(CompletionChunk("!"), 0.75);
  timer.OnEvent(
      R"({"choices":[],"usage":{"prompt_tokens":256,"completion_tokens":4,"total_tokens":260,)"
      R"("prompt_tokens_details":{"cached_tokens":192,"cached_tokens_ram":128,"cached_tokens_ssd":64}}})",
      0.8);
  EXPECT_FALSE(timer.done());
  timer.OnEvent("[DONE]", 0.8);
  EXPECT_TRUE(timer.done());
  const RequestResult r = timer.Finish(0.81);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_DOUBLE_EQ(r.ttft_s, 0.5);
  EXPECT_DOUBLE_EQ(r.e2e_s, 0.81);
  ASSERT_EQ(r.itl_s.size(), 2u);
  EXPECT_NEAR(r.itl_s[0], 0.1, 1e-12);
  EXPECT_NEAR(r.itl_s[1], 0.15, 1e-12);
  EXPECT_EQ(r.prompt_tokens, 256);
  EXPECT_EQ(r.completion_tokens, 4);  // the server's count, not the number of chunks
  EXPECT_EQ(r.cached_tokens, 192);
  EXPECT_EQ(r.cached_tokens_ram, 128);
  EXPECT_EQ(r.cached_tokens_ssd, 64);
}

TEST(StreamTimerTest, ChatDeltasCountContentAndReasoning) {
  StreamTimer timer;
  timer.OnEvent(R"({"choices":[{"index":0,"delta":{"role":"assistant"}}]})", 0.1);
  timer.OnEvent(R"({"choices":[{"index":0,"delta":{"reasoning_content":"hmm"}}]})", 0.2);
  timer.OnEvent(R"({"choices":[{"index":0,"delta":{"content":"Hi"}}]})", 0.3);
  timer.OnEvent("[DONE]", 0.3);
  const RequestResult r = timer.Finish(0.3);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_DOUBLE_EQ(r.ttft_s, 0.2);
  EXPECT_EQ(r.completion_tokens, 2);  // no usage: the content chunks
  EXPECT_EQ(r.itl_s.size(), 1u);
}

TEST(StreamTimerTest, FailuresAreReported) {
  {
    StreamTimer timer;
    timer.OnEvent(CompletionChunk("a"), 0.1);
    const RequestResult r = timer.Finish(0.2);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("[DONE]"), std::string::npos);
  }
  {
    StreamTimer timer;
    timer.OnEvent(R"({"error":{"message":"out of blocks","type":"server_error"}})", 0.1);
    timer.OnEvent("[DONE]", 0.1);
    const RequestResult r = timer.Finish(0.2);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("out of blocks"), std::string::npos);
  }
  {
    StreamTimer timer;
    timer.OnEvent("{not json", 0.1);
    EXPECT_FALSE(timer.Finish(0.2).ok);
  }
  {
    StreamTimer timer;
    timer.OnEvent("[DONE]", 0.1);
    EXPECT_EQ(timer.Finish(0.2).error, "no content arrived");
  }
}

}  // namespace
}  // namespace ts::loadgen
