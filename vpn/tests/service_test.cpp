#include "cloudtwin/vpn/service.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <ctime>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/vpn/config_text.hpp"
#include "cloudtwin/vpn/files.hpp"
#include "cloudtwin/vpn/pki.hpp"
#include "test_support.hpp"

namespace cloudtwin::vpn {
namespace {

using core::Ipv4;
using test::file_mode;

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

class VpnService : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(init(options()), Outcome::Changed); }
  InitOptions options() const {
    InitOptions o;
    o.state_dir = dir.path() + "/vpn";
    o.network = core::Ipv4Cidr::parse("192.168.122.0/24");
    o.gateway = Ipv4::parse("192.168.122.1");
    o.bridge = "virbr0";
    o.remote_host = "198.51.100.1";
    o.now = now();
    return o;
  }
  std::string path(const std::string& name) const { return dir.path() + "/vpn/" + name; }
  std::string state() const { return dir.path() + "/vpn"; }
  std::string ca() const { return read_file(path("ca.crt")); }
  std::string crl() const { return read_file(path("crl.pem")); }

  test::TempDir dir;
};

TEST_F(VpnService, InitWritesStateWithModes) {
  const std::pair<const char*, unsigned> files[] = {
      {"ca.key", 0600},
      {"server.key", 0600},
      {"tls-crypt.key", 0600},
      {"ca.crt", 0644},
      {"server.crt", 0644},
      {"crl.pem", 0644},
      {"server.conf", 0644},
      {"settings", 0644},
      {"bridge-up.sh", 0755},
      {"index.txt", 0644},
      {"ccd", 0755},
      {"clients", 0700},
      {"", 0700},
  };
  for (const auto& [name, mode] : files) EXPECT_EQ(file_mode(path(name)), mode) << name;
  EXPECT_EQ(parse_static_key(read_file(path("tls-crypt.key"))).size(), kStaticKeyBytes);
  EXPECT_EQ(test::verify(ca(), read_file(path("server.crt")), crl(), X509_PURPOSE_SSL_SERVER),
            X509_V_OK);
  check_cert_and_key({read_file(path("server.crt")), read_file(path("server.key")), ""}, "s");
  const auto conf = read_file(path("server.conf"));
  EXPECT_NE(conf.find("server-bridge 192.168.122.1 255.255.255.0 192.168.122.239 "
                      "192.168.122.254\n"),
            std::string::npos)
      << conf;
  EXPECT_NE(conf.find("crl-verify " + path("crl.pem") + "\n"), std::string::npos);
  EXPECT_NE(conf.find("port 1194\ndev tap-ct1194\n"), std::string::npos) << conf;
  EXPECT_NE(read_file(path("bridge-up.sh")).find("master 'virbr0' up"), std::string::npos);
}

TEST_F(VpnService, InitIsIdempotentAndRefusesOtherSettings) {
  const auto ca_before = ca();
  EXPECT_EQ(init(options()), Outcome::Unchanged);
  EXPECT_EQ(ca(), ca_before);
  auto other = options();
  other.bridge = "br1";
  try {
    init(other);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("initialised with other settings"), std::string::npos);
  }
}

TEST(VpnServiceInit, RejectsBadOptions) {
  test::TempDir dir;
  const auto base = [&] {
    InitOptions o;
    o.state_dir = dir.path();
    o.network = core::Ipv4Cidr::parse("10.0.0.0/24");
    o.gateway = Ipv4::parse("10.0.0.1");
    o.bridge = "br0";
    o.remote_host = "vpn.example.org";
    return o;
  };
  std::vector<std::pair<InitOptions, std::string>> cases;
  cases.emplace_back(base(), "gateway 10.0.1.1 is not a host address");
  cases.back().first.gateway = Ipv4::parse("10.0.1.1");
  cases.emplace_back(base(), "bridge 'br0; rm' is not an interface name");
  cases.back().first.bridge = "br0; rm";
  cases.emplace_back(base(), "listen host 'a b'");
  cases.back().first.remote_host = "a b";
  cases.emplace_back(base(), "pool 10.0.0.9-10.0.0.5 is empty");
  cases.back().first.pool = std::pair{Ipv4::parse("10.0.0.9"), Ipv4::parse("10.0.0.5")};
  cases.emplace_back(base(), "pool start 10.0.0.1 is the gateway");
  cases.back().first.pool = std::pair{Ipv4::parse("10.0.0.1"), Ipv4::parse("10.0.0.5")};
  for (const auto& [o, message] : cases) {
    try {
      init(o);
      ADD_FAILURE() << "no error for " << message;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(file_exists(dir.path() + "/settings"));
}

// A UDP socket bound to the wildcard address on an ephemeral port, closed on destruction.
class UdpHolder {
 public:
  UdpHolder() : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot bind a UDP socket");
    }
    port_ = ntohs(addr.sin_port);
  }
  UdpHolder(const UdpHolder&) = delete;
  UdpHolder& operator=(const UdpHolder&) = delete;
  ~UdpHolder() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

TEST(VpnServiceInit, PortAlreadyInUseIsAClearError) {
  test::TempDir dir;
  const UdpHolder taken;
  InitOptions o;
  o.state_dir = dir.path() + "/vpn";
  o.network = core::Ipv4Cidr::parse("10.0.0.0/24");
  o.gateway = Ipv4::parse("10.0.0.1");
  o.bridge = "br0";
  o.remote_host = "vpn.example.org";
  o.port = taken.port();
  try {
    init(o);
    FAIL() << "no error for a port in use";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    const auto port = std::to_string(taken.port());
    EXPECT_NE(std::string(e.what()).find("UDP port " + port + " is already in use on this host"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("--listen HOST:PORT"), std::string::npos);
  }
  EXPECT_FALSE(file_exists(o.state_dir + "/settings"));
  EXPECT_FALSE(file_exists(o.state_dir + "/ca.key"));
}

TEST(VpnServiceInit, PortCheckOnlyOnFirstInit) {
  // Once initialised, the port is rightly held by the running server: re-init is a no-op.
  test::TempDir dir;
  std::uint16_t port = 0;
  {
    const UdpHolder probe;  // an ephemeral port free a moment ago
    port = probe.port();
  }
  InitOptions o;
  o.state_dir = dir.path() + "/vpn";
  o.network = core::Ipv4Cidr::parse("10.0.0.0/24");
  o.gateway = Ipv4::parse("10.0.0.1");
  o.bridge = "br0";
  o.remote_host = "vpn.example.org";
  o.port = port;
  ASSERT_EQ(init(o), Outcome::Changed);
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(init(o), Outcome::Unchanged);
  ::close(fd);
}

TEST_F(VpnService, IssueWritesVerifiableProfile) {
  const auto result = issue(state(), "i-0abc", Ipv4::parse("192.168.122.10"), now());
  EXPECT_EQ(result.outcome, Outcome::Changed);
  EXPECT_EQ(result.profile_path, path("clients/i-0abc.ovpn"));
  EXPECT_EQ(file_mode(result.profile_path), 0600U);
  const auto profile = read_file(result.profile_path);
  EXPECT_NE(profile.find("remote 198.51.100.1 1194 udp\n"), std::string::npos);
  const auto cert = test::inline_block(profile, "cert");
  EXPECT_EQ(test::common_name(cert), "i-0abc");
  EXPECT_EQ(test::verify(ca(), cert, crl(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_EQ(test::inline_block(profile, "ca"), ca());
  EXPECT_EQ(test::inline_block(profile, "tls-crypt"), read_file(path("tls-crypt.key")));
  check_cert_and_key({cert, test::inline_block(profile, "key"), ""}, "profile");
  EXPECT_EQ(read_file(path("ccd/i-0abc")), "ifconfig-push 192.168.122.10 255.255.255.0\n");
  const auto entries = list(state());
  ASSERT_EQ(entries.size(), 1U);
  EXPECT_EQ(entries[0].cert.vm_id, "i-0abc");
  EXPECT_EQ(entries[0].cert.state, CertState::Issued);
  EXPECT_FALSE(entries[0].connection);

  // Again with the same address: nothing changes.
  EXPECT_EQ(issue(state(), "i-0abc", Ipv4::parse("192.168.122.10"), now()).outcome,
            Outcome::Unchanged);
  EXPECT_EQ(read_file(result.profile_path), profile);
}

TEST_F(VpnService, IssueRejectsBadRequests) {
  issue(state(), "i-0abc", Ipv4::parse("192.168.122.10"), now());
  const std::tuple<const char*, const char*, const char*> cases[] = {
      {"i-0abc", "192.168.122.11", "already has a profile (address 192.168.122.10)"},
      {"i-0def", "192.168.122.10", "already VM i-0abc's"},
      {"i-0def", "10.0.0.5", "not a host address of 192.168.122.0/24"},
      {"i-0def", "192.168.122.255", "not a host address"},
      {"i-0def", "192.168.122.1", "is the gateway's address"},
      {"i-0def", "192.168.122.240", "in the VPN's dynamic pool"},
      {"../etc", "192.168.122.12", "VM id '../etc' must be"},
  };
  for (const auto& [vm, ip, message] : cases) {
    try {
      issue(state(), vm, Ipv4::parse(ip), now());
      ADD_FAILURE() << "no error for " << message;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(list(state()).size(), 1U);
}

TEST_F(VpnService, RevokeUpdatesCrlAndRemovesProfile) {
  const auto a = issue(state(), "i-0abc", Ipv4::parse("192.168.122.10"), now());
  const auto b = issue(state(), "i-0def", Ipv4::parse("192.168.122.11"), now());
  const auto cert_a = test::inline_block(read_file(a.profile_path), "cert");
  const auto cert_b = test::inline_block(read_file(b.profile_path), "cert");

  EXPECT_EQ(revoke(state(), "i-0abc", now()).outcome, Outcome::Changed);
  EXPECT_EQ(test::verify(ca(), cert_a, crl(), X509_PURPOSE_SSL_CLIENT), X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(test::verify(ca(), cert_b, crl(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_FALSE(file_exists(a.profile_path));
  EXPECT_FALSE(file_exists(path("ccd/i-0abc")));
  EXPECT_TRUE(file_exists(path("ccd/i-0def")));
  EXPECT_EQ(file_mode(path("crl.pem")), 0644U);
  EXPECT_EQ(revoke(state(), "i-0abc", now()).outcome, Outcome::Unchanged);

  const auto entries = list(state());
  ASSERT_EQ(entries.size(), 2U);
  EXPECT_EQ(entries[0].cert.state, CertState::Revoked);
  EXPECT_GT(entries[0].cert.revoked_at, 0);
  EXPECT_EQ(entries[1].cert.state, CertState::Issued);

  // The address is free again and the id can be issued anew with a new serial.
  const auto again = issue(state(), "i-0abc", Ipv4::parse("192.168.122.10"), now());
  const auto cert_again = test::inline_block(read_file(again.profile_path), "cert");
  EXPECT_EQ(test::verify(ca(), cert_again, crl(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);
}

TEST_F(VpnService, RevokeUnknownVm) {
  try {
    revoke(state(), "i-nope", now());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
  }
}

TEST_F(VpnService, ListShowsConnectedFromStatusFile) {
  issue(state(), "i-0abc", Ipv4::parse("192.168.122.10"), now());
  issue(state(), "i-0def", Ipv4::parse("192.168.122.11"), now());
  write_file_atomic(path("openvpn-status.log"),
                    "TITLE,OpenVPN\nCLIENT_LIST,i-0def,198.51.100.2:5000,,,1,2,x,1782937218,"
                    "UNDEF,0,0,AES-256-GCM\nEND\n",
                    0644);
  const auto entries = list(state());
  ASSERT_EQ(entries.size(), 2U);
  EXPECT_FALSE(entries[0].connection);
  ASSERT_TRUE(entries[1].connection);
  EXPECT_EQ(entries[1].connection->real_address, "198.51.100.2:5000");
}

TEST_F(VpnService, CorruptCaIsReported) {
  write_file_atomic(path("ca.key"), "not a key\n", 0600);
  try {
    issue(state(), "i-0abc", Ipv4::parse("192.168.122.10"), now());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CA in " + state() + " key: not a PEM private key"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(list(state()).empty());
}

TEST(VpnServiceUninitialised, SaysToRunInit) {
  test::TempDir dir;
  try {
    issue(dir.path(), "i-0abc", Ipv4::parse("192.168.122.10"), now());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
    EXPECT_NE(std::string(e.what()).find("run `cloudtwin vpn init` first"), std::string::npos);
  }
}

}  // namespace
}  // namespace cloudtwin::vpn
