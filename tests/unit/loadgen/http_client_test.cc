// The client and runner against a local httplib server that streams SSE chunks with known gaps:
// timings come from real sockets, so only lower bounds are asserted.
#include "app/bench/http_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

#include "app/bench/runner.h"

namespace ts::loadgen {
namespace {

constexpr int kGapMs = 30;

class FakeServer {
 public:
  FakeServer() {
    server_.Post("/v1/completions", [](const httplib::Request& req, httplib::Response& res) {
      if (req.body.find("\"fail\"") != std::string::npos) {
        res.status = 400;
        res.set_content(R"({"error":{"message":"bad"}})", "application/json");
        return;
      }
      res.set_chunked_content_provider("text/event-stream", [](size_t, httplib::DataSink& sink) {
        for (const char* text : {"a", "b", "c"}) {
          std::this_thread::sleep_for(std::chrono::milliseconds(kGapMs));
          const std::string event =
              std::string(R"(data: {"choices":[{"index":0,"text":")") + text + "\"}]}\n\n";
          sink.write(event.data(), event.size());
        }
        const std::string tail =
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,"
            "\"prompt_tokens_details\":{\"cached_tokens\":2}}}\n\ndata: [DONE]\n\n";
        sink.write(tail.data(), tail.size());
        sink.done();
        return true;
      });
    });
    server_.Get("/health", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("{}", "application/json");
    });
    // bind_to_any_port also listens, so clients may connect before the accept loop starts.
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/"; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(HttpClientTest, TimesEachChunkAsItArrives) {
  FakeServer server;
  HttpClient client(server.url(), "", 10);
  for (int repeat = 0; repeat < 2; ++repeat) {  // the second request reuses the connection
    const RequestResult r = client.PostStream("/v1/completions", "{}");
    ASSERT_TRUE(r.ok) << r.error;
    // A late delivery shortens the next gap, so only the first arrival and the sum are bounded.
    EXPECT_GE(r.ttft_s, kGapMs * 0.9e-3);
    ASSERT_EQ(r.itl_s.size(), 2u);
    for (const double itl : r.itl_s) EXPECT_GE(itl, 0.0);
    EXPECT_GE(r.ttft_s + r.itl_s[0] + r.itl_s[1], 3 * kGapMs * 0.9e-3);
    EXPECT_GE(r.e2e_s, r.ttft_s + r.itl_s[0] + r.itl_s[1]);
    EXPECT_EQ(r.prompt_tokens, 5);
    EXPECT_EQ(r.completion_tokens, 3);
    EXPECT_EQ(r.cached_tokens, 2);
  }
  EXPECT_TRUE(client.Get("/health").ok());
  EXPECT_FALSE(client.Get("/nowhere").ok());
}

TEST(HttpClientTest, HttpErrorsFailTheRequest) {
  FakeServer server;
  HttpClient client(server.url(), "", 10);
  const RequestResult r = client.PostStream("/v1/completions", R"({"model":"fail"})");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("http 400"), std::string::npos) << r.error;
}

TEST(HttpClientTest, NoServerFailsTheRequest) {
  HttpClient client("http://127.0.0.1:1", "", 2);
  EXPECT_FALSE(client.PostStream("/v1/completions", "{}").ok);
}

TEST(RunPhaseTest, RunsEverySessionTurnByTurn) {
  FakeServer server;
  WorkloadOptions w;
  w.kind = WorkloadKind::kMultiTurn;
  w.num_requests = 3;
  w.num_turns = 2;
  w.input = {4, 4};
  w.output = {3, 3};
  RunOptions o;
  o.url = server.url();
  o.model =
      std::string("m");  // not a const char* assignment: GCC 12 -O3 warns falsely (-Wrestrict)
  o.concurrency = 2;
  const PhaseOutcome outcome = RunPhase(o, BuildWorkload(w)[0]);
  ASSERT_EQ(outcome.results.size(), 6u);
  for (const RequestResult& r : outcome.results) EXPECT_TRUE(r.ok) << r.error;
  // Two clients, three two-turn conversations of ~4 gaps each: at least two conversations in a row.
  EXPECT_GE(outcome.duration_s, 2 * 2 * 3 * kGapMs * 0.9e-3);
}

TEST(RunPhaseTest, PoissonArrivalsSpreadTheStarts) {
  FakeServer server;
  WorkloadOptions w;
  w.num_requests = 4;
  RunOptions o;
  o.url = server.url();
  o.model =
      std::string("m");  // not a const char* assignment: GCC 12 -O3 warns falsely (-Wrestrict)
  o.concurrency = 4;
  o.request_rate = 20;
  const PhaseOutcome outcome = RunPhase(o, BuildWorkload(w)[0]);
  ASSERT_EQ(outcome.results.size(), 4u);
  double last_start = 0;
  for (const RequestResult& r : outcome.results) last_start = std::max(last_start, r.start_s);
  EXPECT_GT(last_start, 0.0);
}

}  // namespace
}  // namespace ts::loadgen
