#include "app/bench/workload.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "app/bench/runner.h"

namespace ts::loadgen {
namespace {

std::vector<int32_t> Concat(const BenchRequest& r) {
  std::vector<int32_t> units;
  for (const Segment& s : r.segments) units.insert(units.end(), s.units.begin(), s.units.end());
  return units;
}

TEST(LengthRangeTest, ParsesFixedAndRanges) {
  EXPECT_EQ(ParseLengthRange("256")->min, 256);
  EXPECT_EQ(ParseLengthRange("256")->max, 256);
  EXPECT_EQ(ParseLengthRange("128:512")->min, 128);
  EXPECT_EQ(ParseLengthRange("128:512")->max, 512);
  for (const char* bad : {"", "x", "5:4", "-1", "1:", ":2", "3:4:5", "12abc"}) {
    EXPECT_FALSE(ParseLengthRange(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseWorkloadKind("nope").ok());
  EXPECT_EQ(*ParseWorkloadKind("shared-prefix"), WorkloadKind::kSharedPrefix);
}

TEST(WorkloadTest, RandomIsReproducibleWithLengthsInRange) {
  WorkloadOptions o;
  o.num_requests = 20;
  o.seed = 3;
  o.input = {10, 20};
  o.output = {5, 7};
  const auto a = BuildWorkload(o);
  const auto b = BuildWorkload(o);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(a[0].size(), 20u);
  for (size_t i = 0; i < a[0].size(); ++i) {
    const BenchRequest& r = a[0][i].turns.at(0);
    EXPECT_EQ(Concat(r), Concat(b[0][i].turns.at(0)));
    const std::vector<int32_t> units = Concat(r);
    EXPECT_GE(units.size(), 10u);
    EXPECT_LE(units.size(), 20u);
    EXPECT_GE(r.output_tokens, 5);
    EXPECT_LE(r.output_tokens, 7);
    for (const int32_t id : units) {
      EXPECT_GE(id, o.unit_range.min);
      EXPECT_LE(id, o.unit_range.max);
    }
  }
}

TEST(WorkloadTest, UniqueDiffersAcrossBuilds) {
  WorkloadOptions o;
  o.kind = WorkloadKind::kUnique;
  o.num_requests = 2;
  EXPECT_NE(Concat(BuildWorkload(o)[0][0].turns[0]), Concat(BuildWorkload(o)[0][0].turns[0]));
}

TEST(WorkloadTest, SharedPrefixGroupsShareTheirPrefix) {
  WorkloadOptions o;
  o.kind = WorkloadKind::kSharedPrefix;
  o.num_requests = 6;
  o.num_groups = 2;
  o.prefix = {32, 32};
  o.input = {8, 8};
  const auto phases = BuildWorkload(o);
  ASSERT_EQ(phases[0].size(), 6u);
  auto prefix_of = [&](size_t i) {
    const std::vector<int32_t> u = Concat(phases[0][i].turns[0]);
    EXPECT_EQ(u.size(), 40u);
    return std::vector<int32_t>(u.begin(), u.begin() + 32);
  };
  EXPECT_EQ(prefix_of(0), prefix_of(2));
  EXPECT_EQ(prefix_of(0), prefix_of(4));
  EXPECT_EQ(prefix_of(1), prefix_of(5));
  EXPECT_NE(prefix_of(0), prefix_of(1));
  EXPECT_NE(Concat(phases[0][0].turns[0]), Concat(phases[0][2].turns[0]));
}

TEST(WorkloadTest, MultiTurnResendsTheHistory) {
  WorkloadOptions o;
  o.kind = WorkloadKind::kMultiTurn;
  o.num_requests = 2;
  o.num_turns = 3;
  o.input = {10, 10};
  o.output = {4, 4};
  const auto phases = BuildWorkload(o);
  ASSERT_EQ(phases[0].size(), 2u);
  const Session& s = phases[0][0];
  ASSERT_EQ(s.turns.size(), 3u);
  for (size_t t = 0; t < 3; ++t) {
    ASSERT_EQ(s.turns[t].segments.size(), 2 * t + 1);
    EXPECT_EQ(Concat(s.turns[t]).size(), 10 + 14 * t);
    EXPECT_FALSE(s.turns[t].segments.back().is_assistant);
  }
  const std::vector<int32_t> first = Concat(s.turns[0]);
  const std::vector<int32_t> third = Concat(s.turns[2]);
  EXPECT_TRUE(std::equal(first.begin(), first.end(), third.begin()));
  EXPECT_TRUE(s.turns[2].segments[1].is_assistant);
  EXPECT_EQ(s.turns[2].segments[1].units.size(), 4u);
}

TEST(WorkloadTest, RestartRepeatsThePromptsInASecondPhase) {
  WorkloadOptions o;
  o.kind = WorkloadKind::kRestart;
  o.num_requests = 3;
  const auto phases = BuildWorkload(o);
  ASSERT_EQ(phases.size(), 2u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(Concat(phases[0][i].turns[0]), Concat(phases[1][i].turns[0]));
    EXPECT_EQ(phases[0][i].turns[0].phase, 0);
    EXPECT_EQ(phases[1][i].turns[0].phase, 1);
  }
}

TEST(RequestBodyTest, CompletionsWithIdsTextAndChat) {
  BenchRequest r;
  r.segments = {{false, {3, 1}}, {true, {2}}, {false, {0}}};
  r.output_tokens = 16;
  RunOptions o;
  o.model =
      std::string("m");  // not a const char* assignment: GCC 12 -O3 warns falsely (-Wrestrict)
  o.min_tokens = true;
  nlohmann::json body = nlohmann::json::parse(RequestBody(o, r));
  EXPECT_EQ(body["prompt"], nlohmann::json({3, 1, 2, 0}));
  EXPECT_EQ(body["max_tokens"], 16);
  EXPECT_EQ(body["min_tokens"], 16);
  EXPECT_EQ(body["ignore_eos"], true);
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"]["include_usage"], true);

  o.text = true;
  o.min_tokens = false;
  o.ignore_eos = false;
  body = nlohmann::json::parse(RequestBody(o, r));
  const std::vector<std::string>& w = WordList();
  EXPECT_EQ(body["prompt"], w[3] + " " + w[1] + " " + w[2] + " " + w[0]);
  EXPECT_FALSE(body.contains("min_tokens"));
  EXPECT_FALSE(body.contains("ignore_eos"));

  o.chat = true;
  body = nlohmann::json::parse(RequestBody(o, r));
  ASSERT_EQ(body["messages"].size(), 3u);
  EXPECT_EQ(body["messages"][1]["role"], "assistant");
  EXPECT_EQ(body["messages"][1]["content"], w[2]);
  EXPECT_EQ(body["messages"][2]["role"], "user");
  EXPECT_FALSE(body.contains("prompt"));
}

}  // namespace
}  // namespace ts::loadgen
