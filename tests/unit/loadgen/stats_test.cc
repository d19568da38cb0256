#include "app/bench/stats.h"

#include <gtest/gtest.h>

namespace ts::loadgen {
namespace {

TEST(PercentileTest, InterpolatesBetweenClosestRanksLikeNumpy) {
  const std::vector<double> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(Percentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(Percentile(v, 50), 2.5);
  EXPECT_DOUBLE_EQ(Percentile(v, 90), 3.7);  // numpy.percentile([1,2,3,4], 90)
  EXPECT_DOUBLE_EQ(Percentile(v, 100), 4);
  const std::vector<double> one = {7};
  EXPECT_DOUBLE_EQ(Percentile(one, 99), 7);
}

TEST(PercentileTest, HundredValues) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_DOUBLE_EQ(Percentile(v, 50), 50.5);
  EXPECT_DOUBLE_EQ(Percentile(v, 90), 90.1);
  EXPECT_DOUBLE_EQ(Percentile(v, 99), 99.01);
}

TEST(SummarizeTest, SortsAndSummarizes) {
  const Summary s = Summarize({5, 1, 3});
  EXPECT_EQ(s.count, 3);
  EXPECT_DOUBLE_EQ(s.mean, 3);
  EXPECT_DOUBLE_EQ(s.p50, 3);
  EXPECT_DOUBLE_EQ(s.max, 5);
  EXPECT_DOUBLE_EQ(s.p90, 4.6);
}

TEST(SummarizeTest, EmptyIsZero) {
  const Summary s = Summarize({});
  EXPECT_EQ(s.count, 0);
  EXPECT_EQ(s.mean, 0);
  EXPECT_EQ(s.p99, 0);
}

RequestResult Ok(double ttft_s, double e2e_s, int64_t completion_tokens) {
  RequestResult r;
  r.ok = true;
  r.ttft_s = ttft_s;
  r.e2e_s = e2e_s;
  r.completion_tokens = completion_tokens;
  r.prompt_tokens = 100;
  return r;
}

TEST(TpotTest, ExcludesTheFirstToken) {
  EXPECT_DOUBLE_EQ(*Tpot(Ok(1.0, 2.0, 11)), 0.1);
  EXPECT_FALSE(Tpot(Ok(1.0, 1.0, 1)).has_value());
  RequestResult failed = Ok(1.0, 2.0, 11);
  failed.ok = false;
  EXPECT_FALSE(Tpot(failed).has_value());
}

Slo MakeSlo(std::optional<double> ttft_s, std::optional<double> tpot_s,
            std::optional<double> e2e_s) {
  Slo slo;
  slo.ttft_s = ttft_s;
  slo.tpot_s = tpot_s;
  slo.e2e_s = e2e_s;
  return slo;
}

TEST(SloTest, EveryBoundThatIsSetMustHold) {
  const RequestResult r = Ok(0.5, 1.5, 11);  // TPOT 0.1 s
  EXPECT_TRUE(MeetsSlo(r, {}));
  EXPECT_TRUE(MeetsSlo(r, MakeSlo(0.5, {}, {})));
  EXPECT_FALSE(MeetsSlo(r, MakeSlo(0.4, {}, {})));
  EXPECT_TRUE(MeetsSlo(r, MakeSlo({}, 0.1, {})));
  EXPECT_FALSE(MeetsSlo(r, MakeSlo({}, 0.09, {})));
  EXPECT_FALSE(MeetsSlo(r, MakeSlo({}, {}, 1.0)));
  EXPECT_FALSE(MeetsSlo(r, MakeSlo(1.0, 1.0, 1.0)));
  RequestResult failed = r;
  failed.ok = false;
  EXPECT_FALSE(MeetsSlo(failed, {}));
}

TEST(ComputeMetricsTest, RatesCountSuccessfulRequestsOnly) {
  std::vector<RequestResult> results = {Ok(0.1, 1.1, 11), Ok(0.3, 2.3, 21), Ok(0.2, 0.2, 1)};
  results[0].itl_s = {0.1, 0.1};
  results[1].itl_s = {0.2};
  results[1].cached_tokens = 64;
  results[1].cached_tokens_ssd = 64;
  RequestResult failed;
  failed.error = "http 500";
  failed.prompt_tokens = 1000;
  results.push_back(failed);

  const RunMetrics m = ComputeMetrics(results, 2.0, MakeSlo(0.25, {}, {}));
  EXPECT_EQ(m.num_requests, 4);
  EXPECT_EQ(m.num_ok, 3);
  EXPECT_EQ(m.num_meeting_slo, 2);
  EXPECT_EQ(m.prompt_tokens, 300);
  EXPECT_EQ(m.completion_tokens, 33);
  EXPECT_EQ(m.cached_tokens, 64);
  EXPECT_EQ(m.cached_tokens_ssd, 64);
  EXPECT_DOUBLE_EQ(m.requests_per_s, 1.5);
  EXPECT_DOUBLE_EQ(m.input_tokens_per_s, 150);
  EXPECT_DOUBLE_EQ(m.output_tokens_per_s, 16.5);
  EXPECT_DOUBLE_EQ(m.goodput_requests_per_s, 1.0);
  EXPECT_EQ(m.ttft_s.count, 3);
  EXPECT_DOUBLE_EQ(m.ttft_s.p50, 0.2);
  EXPECT_EQ(m.tpot_s.count, 2);  // the one-token request has no TPOT
  EXPECT_DOUBLE_EQ(m.tpot_s.mean, 0.1);
  EXPECT_EQ(m.itl_s.count, 3);
  EXPECT_NEAR(m.itl_s.mean, 0.4 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(m.e2e_s.max, 2.3);
}

}  // namespace
}  // namespace ts::loadgen
