// The VPN join: profile tables (input -> exact output or error), where the profile is
// found, and the step over a fake TunnelService and the fake netlink.
#include "cloudtwin/agent/vpn_join.hpp"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cloudtwin/core/context_sh.hpp"
#include "cloudtwin/core/error.hpp"
#include "fake_netlink.hpp"
#include "temp_dir.hpp"

namespace cloudtwin::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::string_literals;

const std::string kPem =
    "<ca>\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n</ca>\n"
    "<cert>\n-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n</cert>\n"
    "<key>\n-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n</key>\n";
const std::string kProfile = "client\ndev tap\nremote 198.51.100.1 1194 udp\n" + kPem;
const std::string kHeader =
    "# Installed by cloudtwin-agent from the VM's configuration; replaced when that changes.\n";

TEST(PrepareVpnProfile, ReplacesTheDevLineAndKeepsEverythingElse) {
  EXPECT_EQ(prepare_vpn_profile(kProfile, "t"),
            kHeader + "client\ndev ctvpn0\ndev-type tap\nremote 198.51.100.1 1194 udp\n" + kPem);
  EXPECT_EQ(
      prepare_vpn_profile("tls-client\r\npull\r\ndev tap3\r\ndev-type tap\r\nremote h\r\n" + kPem,
                          "t", "vpn9"),
      kHeader + "tls-client\npull\ndev vpn9\ndev-type tap\nremote h\n" + kPem);
}

TEST(PrepareVpnProfile, RefusesWhatCannotWork) {
  struct Case {
    std::string text;
    std::string error;
  } cases[] = {
      {"", "t:1:1: not an OpenVPN client profile"},
      {"dev tap\nremote h\n" + kPem, "t:1:1: not an OpenVPN client profile (no 'client' line)"},
      {"client\ndev tun\nremote h\n" + kPem, "t:2:1: dev 'tun': the overlay is a TAP bridge"},
      {"client\nremote h\n" + kPem, "no 'dev tap' line"},
      {"client\ndev tap\n" + kPem, "no 'remote' line"},
      {"client\ndev tap\nremote h\nup /tmp/x.sh\n" + kPem, "t:4:1: directive 'up' runs a program"},
      {"client\ndev tap\nremote h\nPLUGIN x.so\n" + kPem, "t:4:1: directive 'plugin'"},
      {"client\ndev tap\nremote h\n<ca>\n-----BEGIN CERTIFICATE-----\n",
       "t:4:1: <ca> is never closed"},
      {"client\ndev tap\nremote h\n<ca>\nxx\n</ca>\n", "t:4:1: <ca> is not a complete PEM"},
      {"client\ndev tap\nremote h\n<ca>\n-----BEGIN CERTIFICATE-----\n-----END "
       "CERTIFICATE-----\n</ca>\n",
       "no inline <cert> block"},
      {"client\0dev tap"s, "contains a NUL byte"},
      {std::string(70000, '#'), "at most 64 KiB"},
  };
  for (const auto& c : cases) {
    try {
      prepare_vpn_profile(c.text, "t");
      ADD_FAILURE() << "accepted: " << c.text.substr(0, 60);
    } catch (const ParseError& e) {
      EXPECT_THAT(e.what(), HasSubstr(c.error)) << c.text.substr(0, 60);
    }
  }
}

class Source : public Datasource {
 public:
  explicit Source(std::string context, std::optional<std::string> user_data = std::nullopt,
                  std::vector<DatasourceFile> files = {})
      : ctx_(core::parse_context_sh(context)),
        ud_(std::move(user_data)),
        files_(std::move(files)) {}
  std::string name() const override { return "fake"; }
  bool probe() override { return true; }
  std::optional<core::Context> context() const override { return ctx_; }
  std::optional<std::string> user_data() const override { return ud_; }
  std::vector<DatasourceFile> files() const override { return files_; }

 private:
  core::Context ctx_;
  std::optional<std::string> ud_;
  std::vector<DatasourceFile> files_;
};

std::string mime_with_profile() {
  return "Content-Type: multipart/mixed; boundary=\"B\"\nMIME-Version: 1.0\n\n--B\n"
         "Content-Type: text/x-shellscript\n\n#!/bin/sh\ntrue\n--B\n"
         "Content-Type: application/x-openvpn-profile\n\n" +
         kProfile + "\n--B--\n";  // the newline before a boundary belongs to it
}

TEST(FindVpnProfile, OrderContextThenCdFileThenMimePartThenWriteFiles) {
  const auto b64 = "VPN_PROFILE_BASE64='" + core::base64_encode(kProfile) + "'\n";
  auto origin = [](const Datasource& s, std::string_view written) {
    const auto p = find_vpn_profile(s, written);
    return p ? p->origin + (p->text == kProfile ? "" : " (other text)") : std::string("none");
  };
  const std::vector<DatasourceFile> cd{{"vpn.ovpn", kProfile}};
  EXPECT_EQ(origin(Source(b64, mime_with_profile(), cd), kProfile), "context VPN_PROFILE_BASE64");
  EXPECT_EQ(origin(Source("", mime_with_profile(), cd), kProfile), "context CD file vpn.ovpn");
  EXPECT_EQ(origin(Source("", mime_with_profile()), kProfile),
            "user-data part 2 (application/x-openvpn-profile)");
  EXPECT_EQ(origin(Source("", "#!/bin/sh\n"), kProfile),
            "/etc/cloudtwin/vpn.ovpn (user-data write_files)");
  EXPECT_EQ(origin(Source("VPN_PROFILE_BASE64=''\n", "not mime\n--"), ""), "none");
  EXPECT_THROW(find_vpn_profile(Source("VPN_PROFILE_BASE64='@@@'\n"), ""), Error);
}

TEST(VpnOverlayAddress, FromVpnIpAndMask) {
  EXPECT_EQ(vpn_overlay_address(Source("")), std::nullopt);
  EXPECT_EQ(to_string(*vpn_overlay_address(Source("VPN_IP=10.8.0.5\n"))), "10.8.0.5/24");
  EXPECT_EQ(to_string(*vpn_overlay_address(Source("VPN_IP=10.8.0.5\nVPN_MASK=255.255.0.0\n"))),
            "10.8.0.5/16");
  EXPECT_THROW(vpn_overlay_address(Source("VPN_IP=10.8.0\n")), Error);
}

class FakeTunnel : public TunnelService {
 public:
  struct Log {
    std::vector<std::string> calls;
    bool running = false;
    std::function<void()> on_start;
  };
  explicit FakeTunnel(Log& log) : log_(log) {}
  std::string manager() const override { return "fake"; }
  std::optional<int> running() override {
    return log_.running ? std::optional<int>(42) : std::nullopt;
  }
  void start() override {
    log_.calls.emplace_back("start");
    log_.running = true;
    if (log_.on_start) log_.on_start();
  }
  void reload() override { log_.calls.emplace_back("reload"); }

 private:
  Log& log_;
};

class Join : public ::testing::Test {
 protected:
  VpnJoinResult join(const Datasource& source) {
    VpnJoinOptions o;
    o.root = root_.path();
    o.wait = std::chrono::milliseconds(3000);
    return join_vpn(
        source, o, [this] { return std::make_unique<FakeTunnel>(tunnel_); },
        [this] { return std::make_unique<Forward>(nl_); },
        [this](std::chrono::milliseconds d) {
          clock_ += d;
          if (on_sleep) on_sleep();
        },
        [this] { return clock_; });
  }
  struct Forward : Netlink {
    explicit Forward(testing::FakeNetlink& to) : to_(to) {}
    ObservedState observe() override { return to_.observe(); }
    void apply(const Operation& op) override { to_.apply(op); }
    testing::FakeNetlink& to_;
  };
  void tap_appears(std::vector<std::string> addresses) {
    nl_.state.links.push_back(
        testing::link(7, "ctvpn0", "9a:00:00:00:00:07", true, 1500, addresses));
  }
  std::string installed() const {
    return testing::read_text(root_.path() / "etc/cloudtwin/vpn/client.ovpn");
  }

  testing::TempDir root_;
  testing::FakeNetlink nl_{ObservedState{}};
  FakeTunnel::Log tunnel_;
  std::chrono::steady_clock::time_point clock_{};
  std::function<void()> on_sleep;
  const std::string context_ = "VPN_PROFILE_BASE64='" + core::base64_encode(kProfile) + "'\n";
};

TEST_F(Join, InstallsStartsWaitsAndASecondRunChangesNothing) {
  tunnel_.on_start = [this] { tap_appears({"192.168.77.50/24"}); };
  const auto first = join(Source(context_));
  EXPECT_EQ(first.result, StepResult::Ok);
  EXPECT_THAT(first.messages,
              ElementsAre("installed profile from context VPN_PROFILE_BASE64 as "
                          "/etc/cloudtwin/vpn/client.ovpn (0600)",
                          "started openvpn (fake)", "tunnel up: ctvpn0 192.168.77.50/24"));
  EXPECT_EQ(installed(), prepare_vpn_profile(kProfile, ""));
  struct stat st {};
  ASSERT_EQ(::stat((root_.path() / "etc/cloudtwin/vpn/client.ovpn").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(first.tunnel);
  EXPECT_EQ(first.tunnel->state, "up");
  EXPECT_EQ(first.tunnel->pid, 42);

  const auto second = join(Source(context_));
  EXPECT_THAT(second.messages,
              ElementsAre("profile from context VPN_PROFILE_BASE64 already installed as "
                          "/etc/cloudtwin/vpn/client.ovpn",
                          "openvpn already running (fake)", "tunnel up: ctvpn0 192.168.77.50/24"));
  EXPECT_THAT(tunnel_.calls, ElementsAre("start"));
  EXPECT_EQ(nl_.calls, 0);
}

TEST_F(Join, ChangedProfileReloadsTheRunningTunnel) {
  tunnel_.running = true;
  tap_appears({"192.168.77.50/24"});
  testing::write_file(root_.path() / "etc/cloudtwin/vpn/client.ovpn", "old");
  const auto r = join(Source(context_));
  EXPECT_THAT(tunnel_.calls, ElementsAre("reload"));
  EXPECT_THAT(r.messages[1], HasSubstr("profile changed: openvpn reloaded"));
}

TEST_F(Join, AddsVpnIpWhenTheServerPushesNoAddress) {
  tunnel_.on_start = [this] { tap_appears({"fe80::1/64"}); };
  const auto r = join(Source(context_ + "VPN_IP=192.168.77.60\n"));
  EXPECT_THAT(r.messages, ::testing::Contains("addr add 192.168.77.60/24 dev ctvpn0 (not pushed by "
                                              "the server)"));
  EXPECT_EQ(r.tunnel->state, "up");
  const auto without = join(Source(context_));  // now it has an address: nothing to do
  EXPECT_EQ(without.tunnel->state, "up");
}

TEST_F(Join, UpWithoutAnyAddressIsReportedAsSuch) {
  tunnel_.on_start = [this] { tap_appears({}); };
  const auto r = join(Source(context_));
  EXPECT_EQ(r.tunnel->state, "up-no-address");
  EXPECT_THAT(r.messages.back(), HasSubstr("has no address"));
}

TEST_F(Join, UnreachableServerIsConnectingNotAnError) {
  const auto r = join(Source(context_));
  EXPECT_EQ(r.result, StepResult::Ok);
  EXPECT_EQ(r.tunnel->state, "connecting");
  EXPECT_THAT(r.messages.back(), HasSubstr("tunnel not up after 3.0 s; openvpn keeps retrying"));
}

TEST_F(Join, CorruptProfileInstallsAndStartsNothing) {
  EXPECT_THROW(
      join(Source("VPN_PROFILE_BASE64='" + core::base64_encode("client\ndev tun\n") + "'\n")),
      ParseError);
  EXPECT_TRUE(tunnel_.calls.empty());
  EXPECT_EQ(installed(), "");
}

TEST_F(Join, NoProfileIsSkipped) {
  EXPECT_EQ(join(Source("")).result, StepResult::Skipped);
  EXPECT_TRUE(tunnel_.calls.empty());
}

TEST_F(Join, ProfileFromCloudConfigWriteFiles) {
  testing::write_file(root_.path() / "etc/cloudtwin/vpn.ovpn", kProfile);
  tunnel_.on_start = [this] { tap_appears({"192.168.77.50/24"}); };
  const auto r = join(Source(""));
  EXPECT_THAT(r.messages[0], HasSubstr("from /etc/cloudtwin/vpn.ovpn (user-data write_files)"));
}

}  // namespace
}  // namespace cloudtwin::agent
