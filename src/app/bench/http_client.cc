#include "app/bench/http_client.h"

#include <httplib.h>

#include <chrono>

#include "app/bench/sse_stream.h"

namespace ts::loadgen {

std::string BaseUrl(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() >= 3 && url.compare(url.size() - 3, 3, "/v1") == 0) url.resize(url.size() - 3);
  return url;
}

HttpClient::HttpClient(const std::string& base_url, const std::string& api_key, double timeout_s)
    : client_(std::make_unique<httplib::Client>(BaseUrl(base_url))) {
  client_->set_keep_alive(true);
  const auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::duration<double>(timeout_s));
  client_->set_read_timeout(timeout);
  client_->set_write_timeout(timeout);
  client_->set_connection_timeout(std::chrono::seconds(10));
  if (!api_key.empty()) client_->set_bearer_token_auth(api_key);
}

HttpClient::~HttpClient() = default;

RequestResult HttpClient::PostStream(const std::string& path, const std::string& body) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point sent = Clock::now();
  auto since_sent = [sent] { return std::chrono::duration<double>(Clock::now() - sent).count(); };
  SseParser parser;
  StreamTimer timer;
  std::string error_body;
  int status = 0;

  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body;
  req.set_header("Content-Type", "application/json");
  req.set_header("Accept", "text/event-stream");
  req.response_handler = [&status](const httplib::Response& res) {
    status = res.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
    const double now = since_sent();
    if (status != 200) {
      error_body.append(data, std::min<size_t>(size, 1000));
      return true;
    }
    parser.Feed(std::string_view(data, size),
                [&](std::string_view event) { timer.OnEvent(event, now); });
    return true;
  };
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  const bool sent_ok = client_->send(req, res, error);
  RequestResult r = timer.Finish(since_sent());
  if (!sent_ok) {
    r.ok = false;
    r.error = "http: " + httplib::to_string(error);
  } else if (status != 200) {
    r.ok = false;
    r.error = "http " + std::to_string(status) + ": " + error_body;
  }
  return r;
}

Result<std::string> HttpClient::Get(const std::string& path) {
  httplib::Result res = client_->Get(path.c_str());
  if (!res) return Unavailable("GET " + path + ": " + httplib::to_string(res.error()));
  if (res->status / 100 != 2) {
    return Unavailable("GET " + path + ": http " + std::to_string(res->status) + ": " + res->body);
  }
  return res->body;
}

}  // namespace ts::loadgen
