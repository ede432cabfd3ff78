// The real server in a network namespace laid out like a host: bridge br0 carrying
// 192.168.122.1/24, 169.254.169.254/32 and fd00:ec2::254/64, the server listening on
// 169.254.169.254:80@br0 and [fd00:ec2::254]:80@br0. Two "VM" namespaces hang off br0
// by veth pairs with 02:00 MACs and their MAC-derived addresses; a third namespace
// takes VM1's IP with its own MAC. Needs root: label netns.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "cloudtwin/metadata/instance_store.hpp"
#include "cloudtwin/metadata/libnl_neighbor_table.hpp"
#include "cloudtwin/metadata/os_random.hpp"
#include "cloudtwin/metadata/server.hpp"

namespace cloudtwin::metadata {
namespace {

namespace fs = std::filesystem;

std::string run(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

bool sh(const std::string& command) { return std::system((command + " 2>&1").c_str()) == 0; }

const std::string kTag = std::to_string(::getpid());
const std::string kHost = "ctmd-host-" + kTag;
const std::string kVm1 = "ctmd-vm1-" + kTag;
const std::string kVm2 = "ctmd-vm2-" + kTag;
const std::string kSpoof = "ctmd-spoof-" + kTag;

std::string record(const std::string& id, const std::string& mac, const std::string& v4,
                   const std::string& v6) {
  return R"({"instance-id":")" + id + R"(","network":"br0","network-interfaces":[{"mac":")" + mac +
         R"(","local-ipv4s":[")" + v4 + R"("],"ipv6s":[")" + v6 + R"("]}]})";
}

// Adds namespace `ns` with eth0 (MAC, addresses) whose peer `port` is a port of br0.
bool add_vm(const std::string& ns, const std::string& port, const std::string& mac,
            const std::string& v4, const std::string& v6) {
  const std::string in = "ip -n " + ns + " ";
  return sh("ip netns add " + ns) &&
         sh("ip -n " + kHost + " link add " + port + " type veth peer name eth0 netns " + ns) &&
         sh("ip -n " + kHost + " link set " + port + " master br0 up") &&
         sh(in + "link set eth0 address " + mac) && sh(in + "link set lo up") &&
         sh(in + "addr add " + v4 + "/24 dev eth0") &&
         sh(in + "addr add " + v6 + "/64 dev eth0 nodad") && sh(in + "link set eth0 up") &&
         sh(in + "route add 169.254.169.254/32 via 192.168.122.1");
}

class NetnsTest : public ::testing::Test {
 protected:
  static inline std::string skip_reason;
  static inline fs::path dir;
  static inline std::unique_ptr<OsRandom> random;
  static inline std::unique_ptr<TokenService> tokens;
  static inline std::unique_ptr<Handler> handler;
  static inline std::unique_ptr<DirectoryInstanceStore> store;
  static inline std::unique_ptr<LibnlNeighborTable> neighbors;
  static inline std::unique_ptr<Server> server;
  static inline std::thread thread;
  static inline std::mutex log_mutex;
  static inline std::vector<std::string> log;

  static void SetUpTestSuite() {
    if (::geteuid() != 0) {
      skip_reason = "needs root to create network namespaces (label netns)";
      return;
    }
    const std::string h = "ip -n " + kHost + " ";
    if (!sh("ip netns add " + kHost) || !sh(h + "link set lo up") ||
        !sh(h + "link add br0 type bridge forward_delay 0") ||
        !sh(h + "addr add 192.168.122.1/24 dev br0") ||
        !sh(h + "addr add 169.254.169.254/32 dev br0") ||
        !sh(h + "addr add fd00:ec2::254/64 dev br0 nodad") || !sh(h + "link set br0 up") ||
        !add_vm(kVm1, "v1h", "02:00:c0:a8:7a:0a", "192.168.122.10", "fd00:ec2::a") ||
        !add_vm(kVm2, "v2h", "02:00:c0:a8:7a:0b", "192.168.122.11", "fd00:ec2::b") ||
        !add_vm(kSpoof, "vsh", "02:00:c0:a8:7a:63", "192.168.122.10", "fd00:ec2::a") ||
        !sh(h + "link set vsh down")) {
      skip_reason = "cannot build the test's namespaces with ip(8)";
      return;
    }
    const int fd = ::open(("/run/netns/" + kHost).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
      skip_reason = "cannot enter namespace " + kHost;
      return;
    }
    ::close(fd);
    dir = fs::temp_directory_path() / ("cloudtwin-netns-" + kTag);
    fs::create_directories(dir);
    std::ofstream(dir / "vm1.json")
        << record("i-vm1", "02:00:c0:a8:7a:0a", "192.168.122.10", "fd00:ec2::a");
    std::ofstream(dir / "vm2.json")
        << record("i-vm2", "02:00:c0:a8:7a:0b", "192.168.122.11", "fd00:ec2::b");
    random = std::make_unique<OsRandom>();
    tokens = std::make_unique<TokenService>(*random);
    handler = std::make_unique<Handler>(*tokens);
    const LogSink sink = [](const std::string& l) {
      const std::lock_guard lock(log_mutex);
      log.push_back(l);
    };
    store = std::make_unique<DirectoryInstanceStore>(dir, nullptr, sink);
    neighbors = std::make_unique<LibnlNeighborTable>();
    ServerOptions options;
    options.neighbors = neighbors.get();
    server = std::make_unique<Server>(
        std::vector<ListenSpec>{ListenSpec::parse("169.254.169.254:80@br0"),
                                ListenSpec::parse("[fd00:ec2::254]:80@br0")},
        *store, *handler, sink, options);
    thread = std::thread([] { server->run(); });
  }

  static void TearDownTestSuite() {
    if (server) {
      server->stop();
      thread.join();
      server.reset();
    }
    for (const auto& ns : {kSpoof, kVm2, kVm1, kHost}) sh("ip netns del " + ns + " >/dev/null");
    if (!dir.empty()) fs::remove_all(dir);
  }

  void SetUp() override {
    if (!skip_reason.empty()) GTEST_SKIP() << skip_reason;
  }

  // "STATUS BODY" of one curl request made from inside `ns`.
  static std::string curl(const std::string& ns, const std::string& args) {
    return run("ip netns exec " + ns + " curl -s -m 5 -w ' %{http_code}' -o - " + args);
  }
  static std::string get(const std::string& ns, const std::string& url,
                         const std::string& extra = "") {
    const auto out = curl(ns, url.empty() ? extra : extra + " '" + url + "'");
    const auto space = out.rfind(' ');
    return space == std::string::npos ? out : out.substr(space + 1) + " " + out.substr(0, space);
  }
};

TEST_F(NetnsTest, EachVmGetsOnlyItsOwnData) {
  const std::string url = "http://169.254.169.254/latest/meta-data/";
  EXPECT_EQ(get(kVm1, url + "instance-id"), "200 i-vm1");
  EXPECT_EQ(get(kVm2, url + "instance-id"), "200 i-vm2");
  EXPECT_EQ(get(kVm1, url + "mac"), "200 02:00:c0:a8:7a:0a");
  EXPECT_EQ(get(kVm2, url + "local-ipv4"), "200 192.168.122.11");
  // Nothing in a header chooses the VM.
  EXPECT_EQ(get(kVm2, url + "instance-id", "-H 'X-Forwarded-For: 192.168.122.10'"), "200 i-vm2");
}

TEST_F(NetnsTest, ImdsV2TokensAreBoundToTheVm) {
  const std::string put =
      "-X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "
      "http://169.254.169.254/latest/api/token";
  const auto token = get(kVm1, "", put).substr(4);
  ASSERT_EQ(token.size(), 43u) << token;
  const std::string with = "-H 'X-aws-ec2-metadata-token: " + token + "'";
  const std::string url = "http://169.254.169.254/latest/meta-data/instance-id";
  EXPECT_EQ(get(kVm1, url, with), "200 i-vm1");
  EXPECT_EQ(get(kVm2, url, with).substr(0, 3), "401");
  EXPECT_EQ(get(kVm1, "", put + " -H 'X-Forwarded-For: 10.0.0.1'").substr(0, 3), "403");
}

TEST_F(NetnsTest, Ipv6ListenerServesEachVm) {
  const std::string url = "http://[fd00:ec2::254]/latest/meta-data/instance-id";
  EXPECT_EQ(get(kVm1, url, "-g"), "200 i-vm1");
  EXPECT_EQ(get(kVm2, url, "-g"), "200 i-vm2");
}

TEST_F(NetnsTest, SpoofedAddressWithAnotherMacIsRefused) {
  const std::string h = "ip -n " + kHost + " ";
  // VM1 leaves the bridge; the spoofer, holding VM1's IP, joins it. The host learns
  // the spoofer's MAC for 192.168.122.10 when it answers the SYN.
  ASSERT_TRUE(sh(h + "link set v1h down") && sh(h + "neigh flush dev br0") &&
              sh(h + "link set vsh up"));
  const auto spoofed = get(kSpoof, "http://169.254.169.254/latest/meta-data/instance-id");
  const auto spoofed6 = get(kSpoof, "http://[fd00:ec2::254]/latest/meta-data/instance-id", "-g");
  ASSERT_TRUE(sh(h + "link set vsh down") && sh(h + "neigh flush dev br0") &&
              sh(h + "link set v1h up"));
  EXPECT_EQ(spoofed.substr(0, 3), "403") << spoofed;
  EXPECT_EQ(spoofed.find("i-vm1"), std::string::npos);
  EXPECT_EQ(spoofed6.substr(0, 3), "403") << spoofed6;
  bool logged = false;
  {
    const std::lock_guard lock(log_mutex);
    for (const auto& l : log) logged = logged || l.find("02:00:c0:a8:7a:63") != std::string::npos;
  }
  EXPECT_TRUE(logged) << "the refusal names the MAC the kernel saw";
  // The real VM1 is served again once it is back.
  EXPECT_EQ(get(kVm1, "http://169.254.169.254/latest/meta-data/instance-id"), "200 i-vm1");
}

}  // namespace
}  // namespace cloudtwin::metadata
