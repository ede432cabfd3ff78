// The real server on loopback, with two VMs (127.0.0.1 and 127.0.0.2): one noisy VM
// cannot starve the other, by request rate, by connections, or by idle connections.
#include "cloudtwin/metadata/server.hpp"

// GCC 12 at -O2 reports false positives inside Boost.Asio 1.74 once its code is inlined
// here (see server_test.cpp).
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "loopback_server.hpp"
#include "test_support.hpp"

namespace cloudtwin::metadata {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class TwoVmStore : public InstanceStore {
 public:
  TwoVmStore() {
    auto b = testing::sample_instance();
    b.instance_id = "i-b";
    a_ = make_served(testing::sample_instance(), nullptr);
    b_ = make_served(std::move(b), nullptr);
  }
  std::shared_ptr<const ServedInstance> find(std::string_view, std::string_view address) override {
    if (address == "127.0.0.1") return a_;
    if (address == "127.0.0.2") return b_;
    return nullptr;
  }

 private:
  std::shared_ptr<const ServedInstance> a_, b_;
};

class ServerLimitsTest : public ::testing::Test {
 protected:
  TwoVmStore store;
  std::unique_ptr<testing::LoopbackServer> server;
  std::uint16_t port = 0;
  asio::io_context ioc;

  void start(LimitOptions limits,
             std::chrono::milliseconds idle_timeout = std::chrono::seconds(30)) {
    ServerOptions options;
    options.limits = limits;
    options.idle_timeout = idle_timeout;
    server = std::make_unique<testing::LoopbackServer>(store, options);
    port = server->port();
  }

  tcp::socket connect(const char* source) {
    tcp::socket s(ioc);
    s.open(tcp::v4());
    s.bind(tcp::endpoint(asio::ip::make_address(source), 0));
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    return s;
  }

  static http::response<http::string_body> get(tcp::socket& s, const std::string& target) {
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "169.254.169.254");
    http::write(s, req);
    return read(s);
  }
  static http::response<http::string_body> read(tcp::socket& s) {
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(s, buffer, res);
    return res;
  }
};

TEST_F(ServerLimitsTest, RequestRateIsLimitedPerVm) {
  start(LimitOptions{1, 5, 0});  // burst of 5, then one per second
  auto a = connect("127.0.0.1");
  for (int n = 0; n < 5; ++n) ASSERT_EQ(get(a, "/latest/meta-data/ami-id").result_int(), 200) << n;
  const auto throttled = get(a, "/latest/meta-data/ami-id");
  EXPECT_EQ(throttled.result_int(), 429);
  EXPECT_TRUE(throttled.keep_alive());  // throttled, not disconnected
  auto b = connect("127.0.0.2");
  EXPECT_EQ(get(b, "/latest/meta-data/instance-id").body(), "i-b");
}

TEST_F(ServerLimitsTest, ConnectionsPastTheCapAre429AndClosed) {
  start(LimitOptions{0, 1, 3});
  std::vector<tcp::socket> held;
  for (int n = 0; n < 3; ++n) held.push_back(connect("127.0.0.2"));
  auto extra = connect("127.0.0.2");
  const auto refused = read(extra);  // answered without asking
  EXPECT_EQ(refused.result_int(), 429);
  EXPECT_FALSE(refused.keep_alive());
  auto a = connect("127.0.0.1");
  EXPECT_EQ(get(a, "/latest/meta-data/instance-id").body(), "i-1234567890abcdef0");
  EXPECT_EQ(get(held[0], "/latest/meta-data/instance-id").body(), "i-b");
  held.pop_back();  // a slot frees when a connection closes
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto again = connect("127.0.0.2");
  EXPECT_EQ(get(again, "/latest/meta-data/instance-id").result_int(), 200);
}

TEST_F(ServerLimitsTest, ThousandIdleConnectionsDoNotStopOtherVms) {
  start(LimitOptions{0, 1, 0});  // no cap: the server really holds them all
  std::vector<tcp::socket> idle;
  idle.reserve(1000);
  for (int n = 0; n < 1000; ++n) idle.push_back(connect(n % 2 ? "127.0.0.2" : "127.0.0.3"));
  auto a = connect("127.0.0.1");
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(get(a, "/latest/meta-data/instance-id").body(), "i-1234567890abcdef0");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  // ... and the idle ones are still served when they speak.
  EXPECT_EQ(get(idle[999], "/latest/meta-data/instance-id").body(), "i-b");
  EXPECT_EQ(get(idle[0], "/latest/meta-data/instance-id").result_int(), 404);
}

TEST_F(ServerLimitsTest, DefaultCapBoundsAnIdleFlood) {
  start(LimitOptions{});  // default: 128 connections per VM
  std::vector<tcp::socket> idle;
  for (int n = 0; n < 1000; ++n) idle.push_back(connect("127.0.0.2"));
  EXPECT_EQ(read(idle[999]).result_int(), 429);
  auto a = connect("127.0.0.1");
  EXPECT_EQ(get(a, "/latest/meta-data/instance-id").body(), "i-1234567890abcdef0");
  EXPECT_EQ(get(idle[0], "/latest/meta-data/instance-id").body(), "i-b");
}

TEST_F(ServerLimitsTest, SilentOrSlowClientsAreDisconnected) {
  start(LimitOptions{}, std::chrono::milliseconds(300));
  auto silent = connect("127.0.0.2");
  auto slow = connect("127.0.0.2");
  asio::write(slow,
              asio::buffer(std::string("GET /latest/meta-data/ HTTP/1.1\r\n")));  // never ends
  auto busy = connect("127.0.0.1");
  const auto t0 = std::chrono::steady_clock::now();
  for (int n = 0; n < 20; ++n) {  // active: kept open past the timeout
    EXPECT_EQ(get(busy, "/latest/meta-data/ami-id").result_int(), 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  char byte = 0;
  boost::system::error_code ec;
  silent.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
  slow.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

}  // namespace
}  // namespace cloudtwin::metadata
