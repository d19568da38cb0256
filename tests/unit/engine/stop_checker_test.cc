#include "engine/stop_checker.h"

#include <gtest/gtest.h>

namespace ts {
namespace {

// Feeds pieces; returns (emitted text, whether a stop matched).
std::pair<std::string, bool> FeedAll(StopChecker& c, const std::vector<std::string>& pieces) {
  std::string out;
  for (const auto& p : pieces) {
    bool matched = false;
    out += c.Feed(p, &matched);
    if (matched) return {out, true};
  }
  return {out + c.Flush(), false};
}

TEST(StopCheckerTest, MatchesAcrossPieceBoundaries) {
  StopChecker c({"</end>"});
  auto [text, matched] = FeedAll(c, {"hello </", "e", "nd> world"});
  EXPECT_TRUE(matched);
  EXPECT_EQ(text, "hello ");
}

TEST(StopCheckerTest, HoldsBackOnlyPossiblePrefixes) {
  StopChecker c({"STOP"});
  bool matched = false;
  EXPECT_EQ(c.Feed("abcST", &matched), "abc");  // "ST" may start STOP
  EXPECT_EQ(c.Feed("x", &matched), "STx");      // it did not
  EXPECT_FALSE(matched);
  EXPECT_EQ(c.Feed("S", &matched), "");
  EXPECT_EQ(c.Flush(), "S");
}

TEST(StopCheckerTest, EarliestOfSeveralWins) {
  StopChecker c({"bb", "a"});
  auto [text, matched] = FeedAll(c, {"xxbba"});
  EXPECT_TRUE(matched);
  EXPECT_EQ(text, "xx");
}

TEST(StopCheckerTest, NoStopsPassesThrough) {
  StopChecker c({});
  auto [text, matched] = FeedAll(c, {"a", "b"});
  EXPECT_FALSE(matched);
  EXPECT_EQ(text, "ab");
}

TEST(StopCheckerTest, MultiByteStopStrings) {
  StopChecker c({"é!"});
  auto [text, matched] = FeedAll(c, {"caf", "é", "!", "x"});
  EXPECT_TRUE(matched);
  EXPECT_EQ(text, "caf");
}

}  // namespace
}  // namespace ts
