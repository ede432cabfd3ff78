#include "cloudtwin/core/context.hpp"

#include <gtest/gtest.h>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::core {
namespace {

Context ctx(ContextVars vars) { return Context(std::move(vars)); }

TEST(Context, NicIndexesTable) {
  struct Case {
    ContextVars vars;
    std::vector<int> expected;
  };
  const Case cases[] = {
      {{}, {}},
      {{{"ETH0_IP", "1.2.3.4"}}, {0}},
      {{{"ETH1_MAC", "02:00:01:02:03:04"}, {"ETH0_IP", "1.2.3.4"}, {"ETH10_IP", "1.2.3.5"}},
       {0, 1, 10}},
      {{{"ETH_IP", "x"}, {"ETHX_IP", "x"}, {"ETH01_IP", "x"}, {"ETH0", "x"}, {"XETH0_IP", "x"}},
       {}},
  };
  for (const auto& c : cases) EXPECT_EQ(ctx(c.vars).nic_indexes(), c.expected);
}

TEST(Context, FullNic) {
  const auto c = ctx({
      {"ETH0_MAC", "02:00:C0:A8:01:06"},
      {"ETH0_IP", "192.168.1.6"},
      {"ETH0_MASK", "255.255.255.0"},
      {"ETH0_NETWORK", "192.168.1.0"},
      {"ETH0_GATEWAY", "192.168.1.1"},
      {"ETH0_DNS", "192.168.1.1 8.8.8.8"},
      {"ETH0_SEARCH_DOMAIN", "example.org lab.example.org"},
      {"ETH0_MTU", "1450"},
      {"ETH0_ROUTES", "10.0.0.0/8 via 192.168.1.254, 172.16.0.5 via 192.168.1.253"},
      {"ETH0_METHOD", "static"},
      {"ETH0_IP6", "2001:db8::6"},
      {"ETH0_IP6_PREFIX_LENGTH", "64"},
      {"ETH0_IP6_ULA", "fd00::6"},
      {"ETH0_IP6_GATEWAY", "2001:db8::1"},
      {"ETH0_IP6_METHOD", "auto"},
      {"DNS", "1.1.1.1"},
  });
  NicContext expected;
  expected.index = 0;
  expected.name = "eth0";
  expected.mac = Mac::parse("02:00:c0:a8:01:06");
  expected.ip = Ipv4::parse("192.168.1.6");
  expected.prefix_length = 24;
  expected.network = Ipv4::parse("192.168.1.0");
  expected.gateway = Ipv4::parse("192.168.1.1");
  expected.dns = {"192.168.1.1", "8.8.8.8"};
  expected.search_domains = {"example.org", "lab.example.org"};
  expected.mtu = 1450;
  expected.routes = {{Ipv4Cidr::parse("10.0.0.0/8"), Ipv4::parse("192.168.1.254")},
                     {Ipv4Cidr::parse("172.16.0.5/32"), Ipv4::parse("192.168.1.253")}};
  expected.method = NicMethod::Static;
  expected.ip6 = Ipv6::parse("2001:db8::6");
  expected.ip6_prefix_length = 64;
  expected.ip6_ula = Ipv6::parse("fd00::6");
  expected.ip6_gateway = Ipv6::parse("2001:db8::1");
  expected.ip6_method = NicIp6Method::Auto;
  EXPECT_EQ(c.nic(0), expected);
}

TEST(Context, NicDefaultsAndGlobalDns) {
  const auto c = ctx({{"ETH0_MAC", "02:00:0a:00:00:05"},
                      {"DNS", "10.0.0.1, 10.0.0.2"},
                      {"SEARCH_DOMAIN", "a.test"},
                      {"ETH0_METHOD", "DHCP"}});
  const auto nic = c.nic(0);
  EXPECT_FALSE(nic.ip.has_value());
  EXPECT_EQ(nic.dns, (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(nic.search_domains, std::vector<std::string>{"a.test"});
  EXPECT_EQ(nic.method, NicMethod::Dhcp);
  EXPECT_EQ(nic.ip6_method, NicIp6Method::Static);
  EXPECT_FALSE(nic.mtu.has_value());
}

TEST(Context, BadValueNamesTheVariable) {
  struct Case {
    ContextVars vars;
    const char* part;
  };
  const Case cases[] = {
      {{{"ETH0_IP", "192.168.1.300"}}, "context variable ETH0_IP='192.168.1.300'"},
      {{{"ETH0_MAC", "02:00:zz:00:00:01"}}, "context variable ETH0_MAC="},
      {{{"ETH0_MASK", "255.0.255.0"}},
       "ETH0_MASK='255.0.255.0': netmask 255.0.255.0 is not contiguous"},
      {{{"ETH0_MTU", "big"}}, "ETH0_MTU='big': expected a whole number from 68 to 65535"},
      {{{"ETH0_MTU", "20"}}, "ETH0_MTU='20'"},
      {{{"ETH0_ROUTES", "10.0.0.0/8 192.168.1.1"}}, "is not of the form 'DEST/LEN via GATEWAY'"},
      {{{"ETH0_ROUTES", "10.0.0.0/33 via 192.168.1.1"}}, "ETH0_ROUTES="},
      {{{"ETH0_METHOD", "magic"}}, "expected static, dhcp or skip"},
      {{{"ETH0_IP6_METHOD", "x"}}, "expected static, auto, dhcp, disable or skip"},
      {{{"ETH0_IP6", "2001:db8::g"}}, "ETH0_IP6="},
      {{{"ETH0_IP6_PREFIX_LENGTH", "129"}}, "from 1 to 128"},
  };
  for (const auto& c : cases) {
    try {
      ctx(c.vars).nic(0);
      ADD_FAILURE() << "accepted " << c.vars.begin()->first << "=" << c.vars.begin()->second;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::ContextBadValue);
      EXPECT_NE(std::string(e.what()).find(c.part), std::string::npos) << e.what();
    }
  }
}

TEST(Context, IdentityAccessors) {
  const auto c = ctx({{"SET_HOSTNAME", " web1 "},
                      {"HOSTNAME", "ignored"},
                      {"USERNAME", "ops"},
                      {"SSH_PUBLIC_KEY", "ssh-ed25519 AAAA a@b\n\nssh-rsa BBBB c@d\n"},
                      {"TOKEN", "YES"},
                      {"NETWORK", "no"},
                      {"FILES", "/var/lib/one/a.sh  /var/lib/one/b.conf"},
                      {"INIT_SCRIPTS", "a.sh b.sh"}});
  EXPECT_EQ(c.hostname(), "web1");
  EXPECT_EQ(c.username(), "ops");
  EXPECT_EQ(c.ssh_public_keys(),
            (std::vector<std::string>{"ssh-ed25519 AAAA a@b", "ssh-rsa BBBB c@d"}));
  EXPECT_TRUE(c.token_requested());
  EXPECT_FALSE(c.network_enabled());
  EXPECT_EQ(c.files(), (std::vector<std::string>{"/var/lib/one/a.sh", "/var/lib/one/b.conf"}));
  EXPECT_EQ(c.init_scripts(), (std::vector<std::string>{"a.sh", "b.sh"}));
  EXPECT_EQ(ctx({{"HOSTNAME", "h2"}}).hostname(), "h2");
  EXPECT_EQ(ctx({}).hostname(), std::nullopt);
  EXPECT_TRUE(ctx({}).network_enabled());
  EXPECT_FALSE(ctx({}).token_requested());
}

TEST(Context, StartScriptTable) {
  struct Case {
    ContextVars vars;
    std::optional<std::string> expected;
  };
  const Case cases[] = {
      {{}, std::nullopt},
      {{{"START_SCRIPT", "echo hi"}}, "echo hi"},
      {{{"START_SCRIPT_BASE64", "ZWNobyBiNjQ="}, {"START_SCRIPT", "echo plain"}}, "echo b64"},
  };
  for (const auto& c : cases) EXPECT_EQ(ctx(c.vars).start_script(), c.expected);
  EXPECT_THROW(ctx({{"START_SCRIPT_BASE64", "!!!"}}).start_script(), Error);
}

TEST(Context, UserDataTable) {
  struct Case {
    ContextVars vars;
    std::optional<std::string> expected;
  };
  const Case cases[] = {
      {{}, std::nullopt},
      {{{"USER_DATA", "#cloud-config\nhostname: x\n"}}, "#cloud-config\nhostname: x\n"},
      {{{"USER_DATA", "IyEvYmluL3NoCmVjaG8gaGkK"}, {"USER_DATA_ENCODING", "base64"}},
       "#!/bin/sh\necho hi\n"},
      {{{"USER_DATA", "IyEvYmluL3NoCmVjaG8gaGkK"}}, "#!/bin/sh\necho hi\n"},  // auto-detected
  };
  for (const auto& c : cases) EXPECT_EQ(ctx(c.vars).user_data(), c.expected);
  try {
    ctx({{"USER_DATA", "not base64!"}, {"USER_DATA_ENCODING", "base64"}}).user_data();
    FAIL() << "accepted bad base64";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::UserDataBadBase64);
    EXPECT_NE(std::string(e.what()).find("context variable USER_DATA"), std::string::npos);
  }
  EXPECT_THROW(ctx({{"USER_DATA", "x"}, {"USER_DATA_ENCODING", "rot13"}}).user_data(), Error);
}

// One bad variable does not hide the others: the network comes up even when
// USER_DATA is broken.
TEST(Context, BrokenUserDataDoesNotBreakNetwork) {
  const auto c =
      ctx({{"USER_DATA", "%%%"}, {"USER_DATA_ENCODING", "base64"}, {"ETH0_IP", "10.0.0.5"}});
  EXPECT_THROW(c.user_data(), Error);
  EXPECT_EQ(c.nic(0).ip, Ipv4::parse("10.0.0.5"));
}

}  // namespace
}  // namespace cloudtwin::core
