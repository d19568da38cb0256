#include "server/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/log.h"

namespace ts::server {
namespace {

using Clock = std::chrono::steady_clock;

int PollMs(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 1000));
}

void IpAndPort(const sockaddr_storage& addr, std::string& ip, int& port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf));
    port = ntohs(a->sin6_port);
  }
  ip = buf;
}

// One client connection as httplib reads and writes it, with our limits applied. httplib
// reads the request line and headers one byte at a time, so reads are served from a buffer;
// the bytes handed out before the blank line that ends the headers are counted against the
// header cap.
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(int fd, const HttpServerOptions& options) : fd_(fd), options_(options) {}

  // True once a read of this request failed: past its deadline or over a size cap. httplib
  // may still answer (400) and keep the connection; we close it, or a trickling client would
  // hold it through one 400 after another.
  bool read_failed() const { return read_failed_; }

  // Starts the limits of a new request (keep-alive connections carry several).
  void BeginRequest() {
    deadline_ = Clock::now() + options_.request_read_timeout;
    in_headers_ = true;
    header_bytes_ = 0;
    body_bytes_ = 0;
    tail_ = 0;
  }

  // Waits up to `timeout` for the next request's first byte; false on timeout, close or drain.
  bool WaitForRequest(std::chrono::milliseconds timeout, const std::atomic<bool>& draining) {
    if (begin_ < end_) return true;
    const auto deadline = Clock::now() + timeout;
    while (!draining.load()) {
      pollfd p{fd_, POLLIN, 0};
      // Short slices so a drain is noticed quickly.
      const int n = poll(&p, 1, std::min(PollMs(deadline), 100));
      if (n > 0) return (p.revents & POLLIN) != 0;
      if (n < 0 && errno != EINTR) return false;
      if (Clock::now() >= deadline) return false;
    }
    return false;
  }

  bool PeerClosed() const {
    pollfd p{fd_, POLLIN | POLLRDHUP, 0};
    if (poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return true;
    // Readable without RDHUP: a pipelined request or stray bytes, not a close.
    return false;
  }

  bool is_readable() const override { return begin_ < end_ || WaitReadable(); }

  bool is_writable() const override {
    if (PeerClosed()) return false;
    pollfd p{fd_, POLLOUT, 0};
    return poll(&p, 1, static_cast<int>(options_.write_timeout.count())) > 0 &&
           (p.revents & POLLOUT) != 0;
  }

  ssize_t read(char* ptr, size_t size) override {
    if (begin_ == end_) {
      if (!WaitReadable()) return -1;
      const ssize_t n = recv(fd_, buffer_, sizeof(buffer_), 0);
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<size_t>(n);
    }
    size_t n = std::min(size, end_ - begin_);
    if (in_headers_) {
      n = std::min(n, HeaderBytes(n));
      header_bytes_ += n;
      if (header_bytes_ > options_.max_header_bytes) {
        read_failed_ = true;
        return -1;
      }
    } else {
      body_bytes_ += n;
      // Chunked bodies bypass httplib's Content-Length check; framing adds a little.
      if (body_bytes_ > options_.max_body_bytes + (64 << 10)) {
        read_failed_ = true;
        return -1;
      }
    }
    std::memcpy(ptr, buffer_ + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    size_t done = 0;
    while (done < size) {
      const ssize_t n = send(fd_, ptr + done, size - done, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
      pollfd p{fd_, POLLOUT, 0};
      // No progress for write_timeout: the reader is stalled; give the thread back.
      if (poll(&p, 1, static_cast<int>(options_.write_timeout.count())) <= 0) return -1;
    }
    return static_cast<ssize_t>(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) IpAndPort(addr, ip, port);
  }

  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) IpAndPort(addr, ip, port);
  }

  socket_t socket() const override { return fd_; }

 private:
  // Waits for input until the request's deadline. Past it, fails even when bytes are waiting:
  // a server thread that falls behind a trickling client would otherwise always find a byte
  // ready and never time it out.
  bool WaitReadable() const {
    for (;;) {
      if (Clock::now() >= deadline_) {
        read_failed_ = true;
        return false;
      }
      pollfd p{fd_, POLLIN, 0};
      const int n = poll(&p, 1, PollMs(deadline_));
      if (n > 0) return true;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || Clock::now() >= deadline_) {
        read_failed_ = true;
        return false;
      }
    }
  }

  // How many of the next `n` buffered bytes still belong to the header block; ends the header
  // phase at "\r\n\r\n" (or a bare "\n\n", which httplib also accepts).
  size_t HeaderBytes(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      const char c = buffer_[begin_ + i];
      tail_ = (tail_ << 8) | static_cast<unsigned char>(c);
      if ((tail_ & 0xffffffff) == 0x0d0a0d0a || (tail_ & 0xffff) == 0x0a0a) {
        in_headers_ = false;
        return i + 1;
      }
    }
    return n;
  }

  const int fd_;
  const HttpServerOptions& options_;
  char buffer_[16 << 10];
  size_t begin_ = 0, end_ = 0;
  Clock::time_point deadline_ = Clock::now();
  bool in_headers_ = true;
  size_t header_bytes_ = 0;
  size_t body_bytes_ = 0;
  uint64_t tail_ = 0;                 // last bytes of the header block, for finding its end
  mutable bool read_failed_ = false;  // set by the const is_readable path too
};

// The connection this worker thread is serving, for PeerClosed. Each connection is served
// whole by one thread, and httplib's handler signature has no room for it.
thread_local const ConnectionStream* current_connection = nullptr;

}  // namespace

Status HttpServerOptions::Validate() const {
  if (port < 0 || port > 65535) return InvalidArgument("--port must be in [0, 65535]");
  if (num_threads < 1) return InvalidArgument("the HTTP thread count must be positive");
  if (max_body_bytes < 1024) return InvalidArgument("--max-body-size must be at least 1 KiB");
  if (request_read_timeout.count() <= 0 || write_timeout.count() <= 0 ||
      idle_timeout.count() <= 0) {
    return InvalidArgument("HTTP timeouts must be positive");
  }
  return Status::Ok();
}

HttpServer::HttpServer(const HttpServerOptions& options) : options_(options) {
  const int num_threads = options_.num_threads;
  new_task_queue = [num_threads] { return new httplib::ThreadPool(num_threads); };
  set_payload_max_length(options_.max_body_bytes);
  set_tcp_nodelay(true);
}

namespace {

// httplib binds with SO_REUSEPORT, which lets a second server on a busy port start silently and
// take half its connections. Binding a plain socket first finds a port already in use.
Status CheckPortFree(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
    return InvalidArgument("cannot resolve --host " + host);
  }
  Status status;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);  // TIME_WAIT is not "in use"
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 && errno == EADDRINUSE) {
      status = Unavailable(host + ":" + std::to_string(port) + " is already in use");
    }
    ::close(fd);
    break;
  }
  freeaddrinfo(found);
  return status;
}

}  // namespace

Status HttpServer::Bind() {
  if (options_.port != 0) RETURN_IF_ERROR(CheckPortFree(options_.host, options_.port));
  if (options_.port == 0) {
    port_ = bind_to_any_port(options_.host);
    if (port_ < 0) return IoError("cannot bind " + options_.host + " to a free port");
  } else {
    if (!bind_to_port(options_.host, options_.port)) {
      return IoError("cannot bind " + options_.host + ":" + std::to_string(options_.port) + ": " +
                     std::strerror(errno));
    }
    port_ = options_.port;
  }
  // httplib listens with a backlog of 5; hundreds of clients connecting at once would see
  // dropped SYNs and second-long retries. listen() again only raises the backlog.
  if (::listen(svr_sock_, 1024) != 0)
    return IoError(std::string("listen: ") + std::strerror(errno));
  return Status::Ok();
}

void HttpServer::Run() { listen_after_bind(); }

void HttpServer::StopAccepting() {
  if (draining_.exchange(true)) return;
  // Makes the blocked accept() fail, which ends httplib's accept loop; unlike stop(), this
  // leaves svr_sock_ set, so chunked responses in progress are not cut short.
  ::shutdown(svr_sock_, SHUT_RDWR);
}

bool HttpServer::PeerClosed() {
  return current_connection != nullptr && current_connection->PeerClosed();
}

bool HttpServer::process_and_close_socket(socket_t sock) {
  // Our own write loop handles timeouts (non-blocking sends plus poll); reads poll first.
  ConnectionStream stream(sock, options_);
  current_connection = &stream;
  bool ok = true;
  for (int i = 0; i < options_.max_requests_per_connection; ++i) {
    if (!stream.WaitForRequest(options_.idle_timeout, draining_)) break;
    stream.BeginRequest();
    const bool close_connection = draining_.load() || i + 1 == options_.max_requests_per_connection;
    bool connection_closed = false;
    ok = process_request(stream, close_connection, connection_closed, nullptr);
    if (!ok || connection_closed || stream.read_failed()) break;
  }
  current_connection = nullptr;
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace ts::server
