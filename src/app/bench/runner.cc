#include "app/bench/runner.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "app/bench/http_client.h"

namespace ts::loadgen {

std::string RequestBody(const RunOptions& o, const BenchRequest& request) {
  nlohmann::json body = {{"model", o.model},
                         {"max_tokens", request.output_tokens},
                         {"temperature", 0},
                         {"stream", true},
                         {"stream_options", {{"include_usage", true}}}};
  if (o.ignore_eos) body["ignore_eos"] = true;
  if (o.min_tokens) body["min_tokens"] = request.output_tokens;
  if (o.chat) {
    nlohmann::json messages = nlohmann::json::array();
    for (const Segment& s : request.segments) {
      messages.push_back(
          {{"role", s.is_assistant ? "assistant" : "user"}, {"content", UnitsToText(s.units)}});
    }
    body["messages"] = std::move(messages);
  } else if (o.text) {
    std::vector<int32_t> units;
    for (const Segment& s : request.segments)
      units.insert(units.end(), s.units.begin(), s.units.end());
    body["prompt"] = UnitsToText(units);
  } else {
    nlohmann::json ids = nlohmann::json::array();
    for (const Segment& s : request.segments) {
      for (const int32_t id : s.units) ids.push_back(id);
    }
    body["prompt"] = std::move(ids);
  }
  return body.dump();
}

namespace {

using Clock = std::chrono::steady_clock;

// Prints "[####      ] 12/32 requests, 3 failed, 10.2 s" over itself until stopped.
class Progress {
 public:
  Progress(bool enabled, size_t total, Clock::time_point start)
      : enabled_(enabled), total_(total), start_(start) {
    if (enabled_) thread_ = std::thread([this] { Loop(); });
  }
  ~Progress() {
    if (!enabled_) return;
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    Print();
    std::fputc('\n', stderr);
  }

  void Add(bool ok) {
    ++done_;
    if (!ok) ++failed_;
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stop_; })) Print();
  }

  void Print() const {
    constexpr int kWidth = 30;
    const size_t done = done_.load();
    const int filled = total_ == 0 ? kWidth : static_cast<int>(kWidth * done / total_);
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    std::fprintf(stderr, "\r[%-*s] %zu/%zu requests, %zu failed, %.1f s", kWidth,
                 std::string(static_cast<size_t>(filled), '#').c_str(), done, total_,
                 failed_.load(), elapsed);
    std::fflush(stderr);
  }

  const bool enabled_;
  const size_t total_;
  const Clock::time_point start_;
  std::atomic<size_t> done_{0};
  std::atomic<size_t> failed_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

PhaseOutcome RunPhase(const RunOptions& o, const std::vector<Session>& sessions) {
  // Arrival offsets: all zero (clients start sessions as they free up) or a Poisson process.
  std::vector<double> arrival_s(sessions.size(), 0.0);
  if (o.request_rate > 0) {
    std::mt19937_64 rng(o.seed);
    std::exponential_distribution<double> gap(o.request_rate);
    double t = 0;
    for (double& a : arrival_s) {
      a = t;
      t += gap(rng);
    }
  }
  size_t num_requests = 0;
  for (const Session& s : sessions) num_requests += s.turns.size();
  const std::string path = o.chat ? "/v1/chat/completions" : "/v1/completions";

  const Clock::time_point start = Clock::now();
  std::atomic<size_t> next_session{0};
  std::mutex results_mu;
  std::vector<RequestResult> results;
  results.reserve(num_requests);
  {
    Progress progress(o.show_progress, num_requests, start);
    auto client_loop = [&] {
      HttpClient client(o.url, o.api_key, o.timeout_s);
      while (true) {
        const size_t i = next_session.fetch_add(1);
        if (i >= sessions.size()) return;
        std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                  std::chrono::duration<double>(arrival_s[i])));
        if (o.max_duration_s > 0 &&
            std::chrono::duration<double>(Clock::now() - start).count() >= o.max_duration_s) {
          return;
        }
        for (const BenchRequest& request : sessions[i].turns) {
          const double start_s = std::chrono::duration<double>(Clock::now() - start).count();
          RequestResult r = client.PostStream(path, RequestBody(o, request));
          r.start_s = start_s;
          r.phase = request.phase;
          progress.Add(r.ok);
          const bool ok = r.ok;
          {
            std::lock_guard lock(results_mu);
            results.push_back(std::move(r));
          }
          if (!ok) break;  // later turns would resend a history the server never saw through
        }
      }
    };
    const size_t num_clients =
        std::min(sessions.size(), static_cast<size_t>(std::max(1, o.concurrency)));
    std::vector<std::thread> clients;
    for (size_t c = 0; c < num_clients; ++c) clients.emplace_back(client_loop);
    for (std::thread& t : clients) t.join();
  }
  PhaseOutcome outcome;
  outcome.duration_s = std::chrono::duration<double>(Clock::now() - start).count();
  outcome.results = std::move(results);
  return outcome;
}

}  // namespace ts::loadgen
