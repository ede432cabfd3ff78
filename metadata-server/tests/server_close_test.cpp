// How the real server (127.0.0.1:0) ends exchanges, over plain sockets: Connection:
// close and Content-Length after errors, a lingering close that never costs the client
// its answer, and the header timeout that drops a request begun and never finished.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "cloudtwin/metadata/server.hpp"
#include "loopback_server.hpp"
#include "test_support.hpp"

namespace cloudtwin::metadata {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

class OneVm : public InstanceStore {
 public:
  std::shared_ptr<const ServedInstance> find(std::string_view, std::string_view a) override {
    return a == "127.0.0.1" ? vm_ : nullptr;
  }

 private:
  std::shared_ptr<const ServedInstance> vm_ = make_served(testing::sample_instance(), nullptr);
};

// A client socket with a receive timeout; closed on destruction.
class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  bool connected() const { return connected_; }

  bool send(const std::string& s) {
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Everything until the server closes ("" + error on timeout or reset).
  std::string read_to_end(int* error = nullptr) {
    std::string out;
    char buf[4096];
    for (;;) {
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0) break;
      if (n < 0) {
        if (error) *error = errno;
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

class ServerCloseTest : public ::testing::Test {
 protected:
  OneVm store;
  std::unique_ptr<testing::LoopbackServer> server;
  std::uint16_t port = 0;

  void start(std::chrono::milliseconds header_timeout = 5s, std::size_t connections_per_vm = 0) {
    ServerOptions o;
    o.header_timeout = header_timeout;
    o.limits.connections_per_vm = connections_per_vm;
    o.limits.requests_per_second = 0;
    server = std::make_unique<testing::LoopbackServer>(store, o);
    port = server->port();
  }
};

std::string get(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n";
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST_F(ServerCloseTest, AnErrorEndsTheConnectionAtOnceWithLengthAndClose) {
  start();
  Client c(port);
  ASSERT_TRUE(c.connected());
  const auto t0 = Steady::now();
  ASSERT_TRUE(c.send(get("/latest/meta-data/nope")));
  const auto answer = c.read_to_end();  // the client keeps its side open
  EXPECT_LT(Steady::now() - t0, 1s);
  const auto head_end = answer.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << answer;
  const auto head = answer.substr(0, head_end);
  EXPECT_EQ(head.substr(0, 22), "HTTP/1.1 404 Not Found");
  EXPECT_NE(head.find("\r\nConnection: close"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nContent-Length: " + std::to_string(answer.size() - head_end - 4)),
            std::string::npos)
      << head;
}

TEST_F(ServerCloseTest, SuccessKeepsTheConnection) {
  start();
  Client c(port);
  ASSERT_TRUE(c.send(get("/latest/meta-data/ami-id") + get("//latest/meta-data/instance-id") +
                     get("http://169.254.169.254/latest/meta-data/local-ipv4") +
                     "GET /latest/meta-data/ami-id HTTP/1.1\r\nConnection: close\r\n\r\n"));
  const auto all = c.read_to_end();
  EXPECT_EQ(count(all, "HTTP/1.1 200 OK"), 4u) << all;
  EXPECT_EQ(count(all, "Connection: close"), 1u) << all;
  EXPECT_NE(all.find("i-1234567890abcdef0"), std::string::npos);
  EXPECT_NE(all.find("172.16.34.43"), std::string::npos);
}

TEST_F(ServerCloseTest, PipelinedRequestsAfterAnErrorAreDroppedWithoutReset) {
  start();
  Client c(port);
  ASSERT_TRUE(c.send(get("/latest/meta-data/nope") + get("/latest/meta-data/ami-id")));
  int error = 0;
  const auto all = c.read_to_end(&error);
  EXPECT_EQ(error, 0) << "reset: the answer could have been lost";
  EXPECT_EQ(count(all, "HTTP/1.1 "), 1u) << all;
  EXPECT_EQ(all.substr(0, 12), "HTTP/1.1 404");
}

TEST_F(ServerCloseTest, ARefusedBodyStillLetsTheClientReadTheAnswer) {
  start();
  Client c(port);
  const std::string body(200000, 'x');
  std::thread sender([&] {
    c.send("PUT /latest/api/token HTTP/1.1\r\nHost: x\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body);
  });
  int error = 0;
  const auto all = c.read_to_end(&error);
  sender.join();
  EXPECT_EQ(error, 0);
  EXPECT_EQ(all.substr(0, 12), "HTTP/1.1 413") << all.substr(0, 100);
}

TEST_F(ServerCloseTest, APartialRequestIsDroppedAfterTheHeaderTimeout) {
  start(300ms);
  Client c(port);
  ASSERT_TRUE(c.send("GET /latest/meta-data/ HTTP/1.1\r\nHost: x\r\n"));  // never ends
  const auto t0 = Steady::now();
  EXPECT_EQ(c.read_to_end(), "");  // closed without an answer, as nginx does
  const auto took = Steady::now() - t0;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 2s);
}

TEST_F(ServerCloseTest, AnIdleConnectionIsNotCutByTheHeaderTimeout) {
  start(200ms);
  Client c(port);
  std::this_thread::sleep_for(600ms);  // idle is not a request begun
  ASSERT_TRUE(c.send(get("/latest/meta-data/ami-id") + get("/latest/meta-data/nope")));
  const auto all = c.read_to_end();
  EXPECT_EQ(all.substr(0, 15), "HTTP/1.1 200 OK") << all;
}

TEST_F(ServerCloseTest, AClientThatStopsReadingHoldsItsSlotOnlyBriefly) {
  start(5s, 1);  // one connection per VM
  Client stuck(port);
  ASSERT_TRUE(stuck.send(get("/latest/meta-data/nope") + std::string(100, 'x')));
  // Never reads, never closes. Its slot frees after the linger (2 s), not 30 s.
  const auto t0 = Steady::now();
  std::string answer;
  while (Steady::now() - t0 < 10s) {
    Client next(port);
    next.send("GET /latest/meta-data/ami-id HTTP/1.0\r\n\r\n");
    answer = next.read_to_end();
    if (answer.substr(0, 12) == "HTTP/1.1 200") break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 200");
  EXPECT_LT(Steady::now() - t0, 4s);
}

}  // namespace
}  // namespace cloudtwin::metadata
