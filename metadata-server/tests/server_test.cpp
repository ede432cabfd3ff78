// The real server on 127.0.0.1:0, spoken to over TCP: keep-alive, limits, caller
// identity by source address, and the token reply's IP TTL as seen on the wire.
#include "cloudtwin/metadata/server.hpp"
#include "cloudtwin/core/error.hpp"

// GCC 12 at -O2 reports false positives inside Boost.Asio 1.74 once its code is inlined
// here (scheduler.ipp "potential null pointer dereference"; awaitable frames'
// operator delete "mismatched-new-delete"). Both are in Boost's code, not ours.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
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

class OneInstanceStore : public InstanceStore {
 public:
  explicit OneInstanceStore(std::shared_ptr<const ServedInstance> s) : served_(std::move(s)) {}
  std::shared_ptr<const ServedInstance> find(std::string_view, std::string_view address) override {
    return address == "127.0.0.1" ? served_ : nullptr;
  }

 private:
  std::shared_ptr<const ServedInstance> served_;
};

class ServerTest : public ::testing::Test {
 protected:
  OneInstanceStore store{make_served(testing::sample_instance(), nullptr)};
  std::vector<std::string> log;
  std::mutex log_mutex;
  std::unique_ptr<testing::LoopbackServer> server;
  std::uint16_t port = 0;

  void SetUp() override {
    ServerOptions options;
    options.access_log = true;
    server =
        std::make_unique<testing::LoopbackServer>(store, options, 2, [this](const std::string& l) {
          const std::lock_guard lock(log_mutex);
          log.push_back(l);
        });
    port = server->port();
  }

  tcp::socket connect(const char* source = "127.0.0.1") {
    tcp::socket s(ioc);
    s.open(tcp::v4());
    s.bind(tcp::endpoint(asio::ip::make_address(source), 0));
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    return s;
  }

  http::response<http::string_body> exchange(
      tcp::socket& s, http::verb verb, const std::string& target,
      std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "169.254.169.254");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.prepare_payload();
    http::write(s, req);
    http::response<http::string_body> res;
    http::read(s, buffer, res);
    return res;
  }

  asio::io_context ioc;
  beast::flat_buffer buffer;
};

TEST_F(ServerTest, KeepAliveImdsV2Flow) {
  EXPECT_NE(port, 0);
  auto s = connect();
  const auto put = exchange(s, http::verb::put, "/latest/api/token",
                            {{"X-aws-ec2-metadata-token-ttl-seconds", "60"}});
  ASSERT_EQ(put.result_int(), 200);
  EXPECT_TRUE(put.keep_alive());
  const std::string token = put.body();
  const auto id = exchange(s, http::verb::get, "/latest/meta-data/instance-id",
                           {{"X-aws-ec2-metadata-token", token}});
  EXPECT_EQ(id.result_int(), 200);
  EXPECT_EQ(id.body(), "i-1234567890abcdef0");
  EXPECT_EQ(id[http::field::content_type], "text/plain");
  EXPECT_EQ(id["X-aws-ec2-metadata-token-ttl-seconds"], "60");
  const auto keys = exchange(s, http::verb::get, "/latest/meta-data/public-keys/");
  EXPECT_EQ(keys.body(), "0=my-key\n1=other");
  const auto bad =
      exchange(s, http::verb::get, "/latest/meta-data/", {{"X-aws-ec2-metadata-token", "nope"}});
  EXPECT_EQ(bad.result_int(), 401);
  EXPECT_FALSE(bad.keep_alive());  // EC2 ends the connection after an error
  s = connect();
  const auto post = exchange(s, http::verb::post, "/latest/meta-data/");
  EXPECT_EQ(post.result_int(), 405);
  s = connect();
  EXPECT_EQ(exchange(s, http::verb::get, "/latest/user-data").body(),
            "#cloud-config\nhostname: twin\n");

  const std::lock_guard lock(log_mutex);
  for (const auto& l : log) EXPECT_EQ(l.find(token), std::string::npos) << "token logged: " << l;
}

// The service starts before the bridge has its address (boot order, a network started
// later, fd00:ec2::254 tentative during DAD): binding must not fail. Addresses from the
// documentation ranges, on no interface here; nothing is sent.
TEST_F(ServerTest, AddressNotYetOnAnyInterfaceIsBound) {
  testing::CountingRandom random;
  TokenService tokens{random};
  const Handler handler{tokens};
  for (const char* listen : {"192.0.2.254:0", "[2001:db8::254]:0"}) {
    try {
      Server other({ListenSpec::parse(listen)}, store, handler, [](const std::string&) {}, {});
      EXPECT_NE(other.bound().at(0).port, 0) << listen;
    } catch (const cloudtwin::Error& e) {
      ADD_FAILURE() << listen << ": " << e.what();
    }
  }
}

TEST_F(ServerTest, UnknownCallerGets404) {
  auto s = connect("127.0.0.2");
  EXPECT_EQ(exchange(s, http::verb::get, "/latest/meta-data/").result_int(), 404);
  s = connect("127.0.0.2");
  EXPECT_EQ(exchange(s, http::verb::put, "/latest/api/token",
                     {{"X-aws-ec2-metadata-token-ttl-seconds", "60"}})
                .result_int(),
            404);
}

TEST_F(ServerTest, OversizeHeaderIs431AndConnectionCloses) {
  auto s = connect();
  const auto res =
      exchange(s, http::verb::get, "/latest/meta-data/", {{"X-Junk", std::string(10000, 'a')}});
  EXPECT_EQ(res.result_int(), 431);
  EXPECT_FALSE(res.keep_alive());
}

TEST_F(ServerTest, MalformedRequestIs400) {
  auto s = connect();
  asio::write(s, asio::buffer(std::string("GARBAGE\r\n\r\n")));
  http::response<http::string_body> res;
  http::read(s, buffer, res);
  EXPECT_EQ(res.result_int(), 400);
}

// Captures IPv4 packets on lo (AF_PACKET: needs CAP_NET_RAW) and returns the TTL of
// the first TCP segment with payload sent from `port`.
class LoopbackCapture {
 public:
  LoopbackCapture() {
    fd_ = ::socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
    if (fd_ < 0) return;
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_IP);
    addr.sll_ifindex = static_cast<int>(::if_nametoindex("lo"));
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~LoopbackCapture() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

  int ttl_of_payload_from(std::uint16_t port) {
    unsigned char pkt[65536];
    for (;;) {
      const auto n = ::recv(fd_, pkt, sizeof pkt, 0);
      if (n <= 0) return -1;
      const auto len = static_cast<std::size_t>(n);
      if (len < 20 || (pkt[0] >> 4) != 4 || pkt[9] != IPPROTO_TCP) continue;
      const std::size_t ihl = (pkt[0] & 0x0fu) * 4u;
      if (len < ihl + 20) continue;
      const unsigned sport = (unsigned{pkt[ihl]} << 8) | pkt[ihl + 1];
      const std::size_t thl = (pkt[ihl + 12] >> 4) * 4u;
      const std::size_t total = (std::size_t{pkt[2]} << 8) | pkt[3];
      if (sport == port && total > ihl + thl) return pkt[8];
    }
  }

 private:
  int fd_ = -1;
};

TEST_F(ServerTest, TokenReplyLeavesWithTheHopLimitAsIpTtl) {
  LoopbackCapture capture;
  if (!capture.ok()) GTEST_SKIP() << "capturing on lo needs CAP_NET_RAW (run as root)";
  auto s = connect();
  const auto put = exchange(s, http::verb::put, "/latest/api/token",
                            {{"X-aws-ec2-metadata-token-ttl-seconds", "60"}});
  ASSERT_EQ(put.result_int(), 200);
  EXPECT_EQ(capture.ttl_of_payload_from(port), 2);  // the sample's http-put-response-hop-limit
  const auto get = exchange(s, http::verb::get, "/latest/meta-data/ami-id");
  ASSERT_EQ(get.result_int(), 200);
  EXPECT_EQ(capture.ttl_of_payload_from(port), 64);  // the default again for other replies
}

}  // namespace
}  // namespace cloudtwin::metadata
