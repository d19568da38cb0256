// HttpServer: cpp-httplib's server with the protections an internet-facing API needs, which
// the packaged httplib (0.11, built as a shared library with its compile-time defaults) lacks:
//  - the header block is capped (max_header_bytes; beyond it: 400) and the whole request,
//    headers and body, must arrive within request_read_timeout (slowloris);
//  - idle keep-alive connections close after idle_timeout; a write that makes no progress for
//    write_timeout drops the connection (a stalled reader never holds a thread for long);
//  - the listen backlog is large enough for hundreds of simultaneous connects;
//  - a handler can ask whether its client has gone (PeerClosed), to cancel work nobody reads;
//  - StopAccepting closes the listening socket but lets in-flight responses, streams included,
//    run to their end; then Run returns.
//
// Threads: Run blocks the calling thread in the accept loop; each connection is served whole
// by one of num_threads workers (thread per connection: a blocked writer blocks only itself).
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace ts::server {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                     // 0: any free port (see HttpServer::port)
  int num_threads = 512;               // connections served at once; more wait to start
  size_t max_header_bytes = 16 << 10;  // request line + headers
  size_t max_body_bytes = 32 << 20;    // beyond: 413
  std::chrono::milliseconds request_read_timeout{30'000};  // headers + body of one request
  std::chrono::milliseconds write_timeout{10'000};  // no progress this long: connection dropped
  std::chrono::milliseconds idle_timeout{5'000};    // keep-alive connection with no request
  int max_requests_per_connection = 1000;

  Status Validate() const;
};

class HttpServer : public httplib::Server {
 public:
  explicit HttpServer(const HttpServerOptions& options);

  // Binds and listens. REQUIRES: called once, before Run.
  Status Bind();
  int port() const { return port_; }

  // Accepts connections until StopAccepting, then waits for in-flight connections to end.
  void Run();

  // From any thread: no new connections or keep-alive requests; responses in progress go on.
  void StopAccepting();
  bool is_draining() const { return draining_.load(); }

  // For handlers: true when the client of the request this thread is serving has closed its
  // connection (or reset it). Safe to call often (a non-blocking poll).
  static bool PeerClosed();

 private:
  bool process_and_close_socket(socket_t sock) override;

  const HttpServerOptions options_;
  int port_ = 0;
  std::atomic<bool> draining_{false};
};

}  // namespace ts::server
