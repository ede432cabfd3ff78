// The agent binary in a "vm" namespace, the real cloudtwin-metadata binary in a "host"
// namespace on the other end of a veth pair (label netns: needs root), as on a cloudtwin
// host: no address in the VM at first, the agent derives it from the MAC and reaches
// 169.254.169.254 through the host side. A second run changes nothing: the addresses and
// routes `ip -j` reports are byte for byte the same.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace cloudtwin::agent {
namespace {

using ::testing::HasSubstr;

// Output and exit status of a shell command (stderr included).
std::pair<int, std::string> sh(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  char buf[4096];
  std::size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string must(const std::string& cmd) {
  auto [rc, out] = sh(cmd);
  if (rc != 0) throw std::runtime_error("'" + cmd + "' failed: " + out);
  return out;
}

class PeerNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces (label netns)";
    if (!testing::have_program("ip")) GTEST_SKIP() << "iproute2 'ip' is not installed";
    const auto id = std::to_string(getpid());
    vm_ = "ctpeer-vm-" + id;
    host_ = "ctpeer-host-" + id;
    must("ip netns add " + vm_);
    must("ip netns add " + host_);
    created_ = true;
    must("ip -n " + vm_ + " link set lo up");
    must("ip -n " + host_ + " link set lo up");
    must("ip -n " + vm_ + " link add eth0 address 02:00:c0:a8:7a:0a type veth peer name veth-vm" +
         " netns " + host_);
    must("ip -n " + host_ + " addr add 192.168.122.1/24 dev veth-vm");
    must("ip -n " + host_ + " addr add 169.254.169.254/32 dev veth-vm");
    must("ip -n " + host_ + " link set veth-vm up");
    testing::write_file(dir_.path() / "instances/vm.json", R"({"instance-id": "i-0peer",
      "local-hostname": "peer-vm",
      "network-interfaces": [{"mac": "02:00:c0:a8:7a:0a", "device-number": 0,
        "local-ipv4s": ["192.168.122.10"], "subnet-ipv4-cidr-block": "192.168.122.0/24"}],
      "public-keys": [{"name": "k", "openssh-key": "ssh-ed25519 AAAA peer"}],
      "user-data": )" + user_data_json() + R"(,
      "metadata-options": {"http-tokens": "required"}})");
    const auto d = dir_.path().string();
    testing::write_file(dir_.path() / "metadata.conf",
                        "[server]\nlisten = 169.254.169.254:80\ninstances_dir = " + d +
                            "/instances\nctl_socket =\n[identity]\nkey = " + d +
                            "/id.key\ncert = " + d + "/id.crt\n");
    testing::write_file(dir_.path() / "root/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
    must("ip netns exec " + host_ + " " + CLOUDTWIN_METADATA_BIN + " --access-log --config " + d +
         "/metadata.conf >" + d + "/md.out 2>" + d + "/md.err & echo $! >" + d + "/md.pid");
    for (int i = 0; i < 200; ++i) {
      if (testing::read_text(dir_.path() / "md.out").find("listening on") != std::string::npos)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    FAIL() << "cloudtwin-metadata did not start: " << testing::read_text(dir_.path() / "md.err");
  }
  void TearDown() override {
    const auto pid = testing::read_text(dir_.path() / "md.pid");
    if (!pid.empty()) sh("kill " + pid);
    if (created_) {
      sh("ip netns del " + vm_);
      sh("ip netns del " + host_);
    }
  }

  // The record's user-data, as a JSON string.
  virtual std::string user_data_json() const { return R"("#!/bin/sh\necho ran >> /dev/null\n")"; }
  // Requests the service logged so far (--access-log).
  std::size_t requests() {
    const auto log =
        testing::read_text(dir_.path() / "md.out") + testing::read_text(dir_.path() / "md.err");
    std::size_t n = 0;
    for (std::size_t at = 0; (at = log.find("/latest/", at)) != std::string::npos; ++at) ++n;
    return n;
  }

  std::pair<int, std::string> agent(const std::string& stage) {
    return sh("ip netns exec " + vm_ + " " + CLOUDTWIN_AGENT_BIN + " " + stage + " --root " +
              (dir_.path() / "root").string() +
              " --datasources ec2 --metadata-url http://169.254.169.254");
  }
  std::string observed() {
    return must("ip -n " + vm_ + " -j addr show") + must("ip -n " + vm_ + " -j route show");
  }

  testing::TempDir dir_;
  std::string vm_, host_;
  bool created_ = false;
};

TEST_F(PeerNetns, MetadataInThePeerNamespaceSecondRunChangesNothing) {
  const auto [rc1, local1] = agent("local");
  ASSERT_EQ(rc1, 0) << local1;
  EXPECT_THAT(local1, HasSubstr("metadata-fallback: addr add 192.168.122.10/24 dev eth0\n"));
  EXPECT_THAT(local1, HasSubstr("metadata-fallback: route add 169.254.169.254/32 via "
                                "192.168.122.1 dev eth0\n"));
  EXPECT_THAT(local1, HasSubstr("cloudtwin-agent local: ec2 (http://169.254.169.254:80)"));
  const auto [rcf1, final1] = agent("final");
  ASSERT_EQ(rcf1, 0) << final1;
  EXPECT_THAT(final1, HasSubstr("ssh-keys: authorized_keys of root: 1 key(s) added"));
  EXPECT_THAT(final1, HasSubstr("user-data: part-001: ran part-001: exit 0"));
  const auto first = observed();
  EXPECT_THAT(first, HasSubstr(R"("local":"192.168.122.10","prefixlen":24)"));
  EXPECT_THAT(first, HasSubstr(R"("dst":"169.254.169.254","gateway":"192.168.122.1")"));

  const auto [rc2, local2] = agent("local");
  ASSERT_EQ(rc2, 0) << local2;
  EXPECT_THAT(local2, HasSubstr("metadata-fallback: an IPv4 address is already up"));
  EXPECT_THAT(local2, HasSubstr("network: already configured"));
  const auto [rcf2, final2] = agent("final");
  ASSERT_EQ(rcf2, 0) << final2;
  EXPECT_THAT(final2, HasSubstr("user-data: already ran for instance i-0peer"));
  EXPECT_THAT(final2, HasSubstr("authorized_keys of root already up to date"));
  EXPECT_EQ(observed(), first);
  EXPECT_EQ(testing::read_text(dir_.path() / "root/etc/hostname"), "peer-vm\n");
}

// MIME multipart user-data through the real binary: the agent carries no Poco and its own
// C++ runtime, and loads the cloudtwin-mime plugin (built next to it) for this. `final`
// replays `local`'s crawl of this boot: it sends the service no request at all.
class PeerNetnsMime : public PeerNetns {
 protected:
  std::string user_data_json() const override {
    return R"("Content-Type: multipart/mixed; boundary=\"==B==\"\nMIME-Version: 1.0\n\n)"
           R"(--==B==\nContent-Type: text/x-shellscript; charset=\"us-ascii\"\n)"
           R"(Content-Disposition: attachment; filename=\"first.sh\"\n\n#!/bin/sh\nexit 0\n)"
           R"(--==B==\nContent-Type: text/x-shellscript\nContent-Transfer-Encoding: base64\n)"
           R"(Content-Disposition: attachment; filename=\"second.sh\"\n\nIyEvYmluL3NoCmV4aXQgMAo=\n)"
           R"(--==B==--\n")";
  }
};

TEST_F(PeerNetnsMime, MimeUserDataThroughThePluginAndFinalReplaysTheCrawl) {
  const auto [rc1, local1] = agent("local");
  ASSERT_EQ(rc1, 0) << local1;
  const auto after_local = requests();
  EXPECT_GT(after_local, 5u) << "the access log shows local's crawl";
  const auto crawl = dir_.path() / "root/run/cloudtwin-agent/ec2-metadata.json";
  ASSERT_TRUE(std::filesystem::exists(crawl));
  EXPECT_EQ(std::filesystem::status(crawl).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const auto [rcf, final1] = agent("final");
  ASSERT_EQ(rcf, 0) << final1;
  EXPECT_THAT(final1, HasSubstr("user-data: part-001: ran part-001: exit 0"));
  EXPECT_THAT(final1, HasSubstr("user-data: part-002: ran part-002: exit 0"));
  EXPECT_THAT(final1, HasSubstr("ssh-keys: authorized_keys of root: 1 key(s) added"));
  EXPECT_EQ(requests(), after_local) << "final asked the service again";
}

}  // namespace
}  // namespace cloudtwin::agent
