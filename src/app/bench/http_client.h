// A blocking HTTP client for one benchmark worker: keeps its connection alive across requests
// and feeds streamed response bytes, as they arrive, to SseParser and StreamTimer. One per thread.
#pragma once

#include <memory>
#include <string>

#include "app/bench/stats.h"
#include "base/status.h"

namespace httplib {
class Client;
}

namespace ts::loadgen {

class HttpClient {
 public:
  // base_url: "http://host:port" (a trailing "/v1" or "/" is tolerated and dropped).
  HttpClient(const std::string& base_url, const std::string& api_key, double timeout_s);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // POSTs a streaming completion request and times its response.
  RequestResult PostStream(const std::string& path, const std::string& body);

  // GET path; the body on a 2xx answer.
  Result<std::string> Get(const std::string& path);

 private:
  std::unique_ptr<httplib::Client> client_;
};

// "http://host:port/v1/" -> "http://host:port".
std::string BaseUrl(std::string url);

}  // namespace ts::loadgen
