// The HTTP server's protections, over real sockets: a client that trickles its headers or its
// body (slowloris) or connects and sends nothing is cut off after its timeout, and holds up
// nobody else meanwhile; an oversized header block gets 400.
#include "server/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

namespace ts::server {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions o;
    o.port = 0;
    o.num_threads = 8;
    o.request_read_timeout = milliseconds(400);
    o.idle_timeout = milliseconds(400);
    o.write_timeout = milliseconds(400);
    ASSERT_TRUE(o.Validate().ok());
    server_ = std::make_unique<HttpServer>(o);
    server_->Get("/ping", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("pong", "text/plain");
    });
    server_->Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.body, "text/plain");
    });
    ASSERT_TRUE(server_->Bind().ok());
    thread_ = std::thread([this] { server_->Run(); });
  }
  void TearDown() override {
    server_->StopAccepting();
    thread_.join();
  }

  int Connect() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  }

  // Sends `text` a byte every `gap` until the server closes the connection (a send fails or
  // a read returns end of file) or `give_up` passes. Returns how long the connection lived.
  static milliseconds TrickleUntilClosed(int fd, const std::string& text, milliseconds gap,
                                         milliseconds give_up) {
    const auto start = Clock::now();
    for (size_t i = 0; Clock::now() - start < give_up; ++i) {
      if (i < text.size() && ::send(fd, &text[i], 1, MSG_NOSIGNAL) != 1) break;
      char buf[256];
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) break;
      std::this_thread::sleep_for(gap);
    }
    return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  }

  bool PingWorks() const {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_read_timeout(2, 0);
    auto res = client.Get("/ping");
    return res && res->status == 200 && res->body == "pong";
  }

  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(HttpServerTest, TricklingHeadersAreCutOffWhileOthersAreServed) {
  const int fd = Connect();
  std::string request = "GET /ping HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 100; ++i) request += "X-Slow-" + std::to_string(i) + ": y\r\n";
  auto lived = std::async(std::launch::async, [&] {
    return TrickleUntilClosed(fd, request, milliseconds(20), milliseconds(5000));
  });
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_TRUE(PingWorks()) << "a slow client must not hold up others";
  const milliseconds t = lived.get();
  EXPECT_GE(t.count(), 300);
  EXPECT_LT(t.count(), 3000) << "the trickling client was never cut off";
  ::close(fd);
}

TEST_F(HttpServerTest, TricklingBodyIsCutOff) {
  const int fd = Connect();
  const std::string head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  const milliseconds t =
      TrickleUntilClosed(fd, std::string(1000, 'a'), milliseconds(20), milliseconds(5000));
  EXPECT_LT(t.count(), 3000) << "the trickling body was never cut off";
  ::close(fd);
  EXPECT_TRUE(PingWorks());
}

TEST_F(HttpServerTest, IdleConnectionIsClosed) {
  const int fd = Connect();
  const milliseconds t = TrickleUntilClosed(fd, "", milliseconds(20), milliseconds(5000));
  EXPECT_GE(t.count(), 300);
  EXPECT_LT(t.count(), 3000) << "an idle connection stayed open";
  ::close(fd);
}

TEST_F(HttpServerTest, OversizedHeaderBlockGets400) {
  httplib::Client client("127.0.0.1", server_->port());
  httplib::Headers headers = {{"X-Big", std::string(32 << 10, 'h')}};
  auto res = client.Get("/ping", headers);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_TRUE(PingWorks());
}

}  // namespace
}  // namespace ts::server
