#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

namespace ts {
namespace {

std::vector<float> RandomLogits(int32_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, 2.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}

int32_t SampleOnce(SamplingParams p, std::vector<float> logits, uint64_t fallback = 1) {
  SamplerState s(p, fallback);
  return s.Sample(logits.data(), static_cast<int32_t>(logits.size())).token;
}

TEST(SamplerTest, GreedyIsArgmaxWithLowestIdOnTies) {
  SamplingParams p;
  p.temperature = 0;
  auto logits = RandomLogits(1000, 1);
  const int32_t best = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  EXPECT_EQ(SampleOnce(p, logits), best);
  std::vector<float> tie = {1.f, 3.f, 3.f};
  EXPECT_EQ(SampleOnce(p, tie), 1);
}

TEST(SamplerTest, SameSeedSameStream) {
  SamplingParams p;
  p.temperature = 1.f;
  p.seed = 42;
  SamplerState a(p, 1), b(p, 2);
  for (int i = 0; i < 50; ++i) {
    auto logits = RandomLogits(500, static_cast<uint32_t>(i));
    auto copy = logits;
    EXPECT_EQ(a.Sample(logits.data(), 500).token, b.Sample(copy.data(), 500).token);
  }
}

TEST(SamplerTest, FiltersNarrowTheChoice) {
  auto logits = RandomLogits(300, 9);
  std::vector<int32_t> order(300);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  for (uint64_t seed = 0; seed < 200; ++seed) {
    SamplingParams k;
    k.top_k = 3;
    k.seed = seed;
    int32_t t = SampleOnce(k, logits);
    EXPECT_TRUE(t == order[0] || t == order[1] || t == order[2]);
    SamplingParams tiny_p;
    tiny_p.top_p = 1e-6f;
    tiny_p.seed = seed;
    EXPECT_EQ(SampleOnce(tiny_p, logits), order[0]);
    SamplingParams min_p;
    min_p.min_p = 1.f;  // only tokens as likely as the best survive
    min_p.seed = seed;
    EXPECT_EQ(SampleOnce(min_p, logits), order[0]);
  }
}

// With temperature 1 and no filters, frequencies follow softmax(logits).
TEST(SamplerTest, SamplesFollowTheDistribution) {
  std::vector<float> logits = {0.f, std::log(2.f), std::log(3.f), std::log(4.f)};
  SamplingParams p;
  p.seed = 7;
  SamplerState s(p, 0);
  std::map<int32_t, int> counts;
  const int n = 40000;
  for (int i = 0; i < n; ++i) {
    auto l = logits;
    ++counts[s.Sample(l.data(), 4).token];
  }
  for (int32_t t = 0; t < 4; ++t) EXPECT_NEAR(counts[t] / double(n), (t + 1) / 10.0, 0.01);
}

TEST(SamplerTest, PenaltiesAndBias) {
  std::vector<float> logits = {2.f, 1.9f, 0.f};
  SamplingParams p;
  p.temperature = 0;
  p.presence_penalty = 0.5f;
  SamplerState s(p, 0);
  s.AddOutputToken(0);
  auto l = logits;
  EXPECT_EQ(s.Sample(l.data(), 3).token, 1);  // 2.0 - 0.5 < 1.9

  SamplingParams r;
  r.temperature = 0;
  r.repetition_penalty = 2.f;
  SamplerState rs(r, 0);
  rs.AddPromptTokens({0});
  l = logits;
  EXPECT_EQ(rs.Sample(l.data(), 3).token, 1);  // 2.0 / 2 < 1.9

  SamplingParams b;
  b.temperature = 0;
  b.logit_bias = {{2, 100.f}};
  EXPECT_EQ(SampleOnce(b, logits), 2);
}

TEST(SamplerTest, LogprobsAreOfTheRawDistribution) {
  auto logits = RandomLogits(64, 3);
  SamplingParams p;
  p.temperature = 0;
  p.num_top_logprobs = 5;
  p.logit_bias = {{0, 50.f}};
  SamplerState s(p, 0);
  auto copy = logits;
  SampledToken t = s.Sample(copy.data(), 64);
  EXPECT_EQ(t.token, 0);
  const double lse = LogSumExp(logits.data(), 64);
  EXPECT_NEAR(t.logprob, logits[0] - lse, 1e-5);
  ASSERT_EQ(t.top_logprobs.size(), 5u);
  for (size_t i = 1; i < 5; ++i) EXPECT_GE(t.top_logprobs[i - 1].second, t.top_logprobs[i].second);
  EXPECT_NEAR(t.top_logprobs[0].second,
              *std::max_element(logits.begin(), logits.end()) - lse, 1e-5);
}

TEST(SamplerTest, ValidateRejectsOutOfRange) {
  SamplingParams p;
  EXPECT_TRUE(p.Validate(10).ok());
  p.top_p = 0;
  EXPECT_FALSE(p.Validate(10).ok());
  p = {};
  p.temperature = -1;
  EXPECT_FALSE(p.Validate(10).ok());
  p = {};
  p.temperature = NAN;
  EXPECT_FALSE(p.Validate(10).ok());
  p = {};
  p.logit_bias = {{10, 1.f}};
  EXPECT_FALSE(p.Validate(10).ok());
  p = {};
  p.num_top_logprobs = 21;
  EXPECT_FALSE(p.Validate(10).ok());
}

}  // namespace
}  // namespace ts
