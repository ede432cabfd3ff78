// The pure half of the EC2 datasource and the agent's configuration: tables.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "cloudtwin/agent/agent_config.hpp"
#include "cloudtwin/agent/datasource_registry.hpp"
#include "cloudtwin/agent/ec2.hpp"
#include "cloudtwin/core/error.hpp"
#include "net_fixtures.hpp"
#include "temp_dir.hpp"

namespace cloudtwin::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::lines;
using testing::link;

TEST(Ec2Listing, Table) {
  EXPECT_THAT(parse_listing("a\nb/\n\n c \r\n"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(parse_listing(""), IsEmpty());
  EXPECT_THAT(parse_listing("0e:49:61:0f:c3:11/\n02:00:ac:10:23:05/"),
              ElementsAre("0e:49:61:0f:c3:11", "02:00:ac:10:23:05"));
  EXPECT_THAT(public_key_indexes("0=my-key\n1=other\n=x\nzz=y\nnoequals\n12=z"),
              ElementsAre("0", "1", "12"));
}

TEST(MetadataUrl, Table) {
  struct Case {
    const char* url;
    const char* host;
    int port;
  };
  for (const auto& c :
       {Case{"http://169.254.169.254", "169.254.169.254", 80},
        Case{"http://[fd00:ec2::254]/", "fd00:ec2::254", 80},
        Case{"127.0.0.1:8080", "127.0.0.1", 8080}, Case{"http://[::1]:9", "::1", 9}}) {
    const auto ep = parse_metadata_url(c.url);
    EXPECT_EQ(ep.host, c.host) << c.url;
    EXPECT_EQ(ep.port, c.port) << c.url;
  }
  EXPECT_EQ(parse_metadata_url("http://[fd00:ec2::254]").to_string(), "http://[fd00:ec2::254]:80");
  for (const char* bad : {"http://metadata.internal", "http://1.2.3.4:0", "http://1.2.3.4:x",
                          "http://[::1", "http://[::1]x", "http://1.2.3.4:70000"}) {
    EXPECT_THROW(parse_metadata_url(bad), Error) << bad;
  }
  EXPECT_THAT([] { parse_metadata_url("http://metadata.internal"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("names are never looked up")));
}

TEST(Ec2Nic, ParsesFilesAndNamesBadOnes) {
  const auto nic =
      parse_ec2_nic("0E:49:61:0F:C3:11", {{"device-number", "1"},
                                          {"local-ipv4s", "172.16.35.5\n172.16.35.6"},
                                          {"subnet-ipv4-cidr-block", "172.16.35.0/24"},
                                          {"ipv6s", "2001:db8:8:4::2"},
                                          {"subnet-ipv6-cidr-blocks", "2001:db8:8:4::/56"}});
  EXPECT_EQ(nic.mac.to_string(), "0e:49:61:0f:c3:11");
  EXPECT_EQ(nic.device_number, 1);
  ASSERT_EQ(nic.local_ipv4s.size(), 2u);
  EXPECT_EQ(nic.subnet_ipv4->to_string(), "172.16.35.0/24");
  EXPECT_EQ(nic.subnet_ipv6_prefix_length, 56);
  EXPECT_THAT(
      [] {
        parse_ec2_nic("02:00:00:00:00:01", {{"local-ipv4s", "10.0.0.300"}});
      },
      ::testing::ThrowsMessage<Error>(
          HasSubstr("macs/02:00:00:00:00:01/local-ipv4s '10.0.0.300'")));
  EXPECT_THROW(parse_ec2_nic("zz", {}), Error);
  EXPECT_THROW(parse_ec2_nic("02:00:00:00:00:01", {{"device-number", "-1"}}), Error);
  EXPECT_THROW(parse_ec2_nic("02:00:00:00:00:01", {{"subnet-ipv6-cidr-blocks", "2001:db8::"}}),
               Error);
}

Ec2Nic nic(const std::string& mac, int device, std::vector<std::string> v4,
           std::optional<std::string> subnet, std::vector<std::string> v6 = {}) {
  Ec2Nic n;
  n.mac = core::Mac::parse(mac);
  n.device_number = device;
  for (const auto& a : v4) n.local_ipv4s.push_back(core::Ipv4::parse(a));
  if (subnet) n.subnet_ipv4 = core::Ipv4Cidr::parse(*subnet);
  for (const auto& a : v6) n.ipv6s.push_back(core::Ipv6::parse(a));
  return n;
}

struct Ec2PlanCase {
  const char* name;
  std::vector<Ec2Nic> nics;
  Ec2PrimaryMode mode;
  std::vector<Link> observed;
  std::vector<std::string> operations;
  std::vector<std::string> warnings = {};
};

const std::vector<Ec2PlanCase>& ec2_cases() {
  static const std::vector<Ec2PlanCase> table = {
      {"real_ec2_primary_left_to_dhcp_secondary_static",
       {nic("0e:49:61:0f:c3:11", 0, {"172.16.34.43"}, "172.16.34.0/24", {"2001:db8:8:4::2"}),
        nic("0e:49:61:0f:c3:12", 1, {"172.16.35.5", "172.16.35.6"}, "172.16.35.0/24",
            {"2001:db8:8:5::7"})},
       Ec2PrimaryMode::Auto,
       {link(2, "ens5", "0e:49:61:0f:c3:11", true, 9001, {"172.16.34.43/24"}),
        link(3, "ens6", "0e:49:61:0f:c3:12")},
       {"link set ens6 up", "addr add 172.16.35.5/24 dev ens6", "addr add 172.16.35.6/24 dev ens6",
        "addr add 2001:db8:8:5::7/64 dev ens6"}},
      {"primary_extra_private_ips_are_added_under_dhcp",
       {nic("0e:49:61:0f:c3:11", 0, {"172.16.34.43", "172.16.34.44"}, "172.16.34.0/24")},
       Ec2PrimaryMode::Auto,
       {link(2, "ens5", "0e:49:61:0f:c3:11", true, 9001, {"172.16.34.43/24"})},
       {"addr add 172.16.34.44/24 dev ens5"}},
      {"cloudtwin_mac_rule_makes_the_primary_static_with_gateway_first_host",
       {nic("02:00:c0:a8:7a:0a", 0, {"192.168.122.10"}, "192.168.122.0/24")},
       Ec2PrimaryMode::Auto,
       {link(2, "eth0", "02:00:c0:a8:7a:0a")},
       {"link set eth0 up", "addr add 192.168.122.10/24 dev eth0",
        "route add default via 192.168.122.1 dev eth0"}},
      {"mac_prefix_but_other_ip_is_still_dhcp",
       {nic("02:00:c0:a8:7a:0a", 0, {"10.0.0.9"}, "10.0.0.0/16")},
       Ec2PrimaryMode::Auto,
       {link(2, "eth0", "02:00:c0:a8:7a:0a", true)},
       {}},
      {"forced_static_gateway_is_first_address_of_a_16",
       {nic("0e:00:00:00:00:01", 0, {"10.1.200.7"}, "10.1.0.0/16")},
       Ec2PrimaryMode::Static,
       {link(2, "eth0", "0e:00:00:00:00:01", true)},
       {"addr add 10.1.200.7/16 dev eth0", "route add default via 10.1.0.1 dev eth0"}},
      {"forced_dhcp_with_mac_rule",
       {nic("02:00:c0:a8:7a:0a", 0, {"192.168.122.10"}, "192.168.122.0/24")},
       Ec2PrimaryMode::Dhcp,
       {link(2, "eth0", "02:00:c0:a8:7a:0a")},
       {"link set eth0 up"}},
      {"secondary_without_subnet_gets_32_and_a_warning",
       {nic("0e:00:00:00:00:02", 1, {"10.2.0.5"}, std::nullopt)},
       Ec2PrimaryMode::Auto,
       {link(3, "eth1", "0e:00:00:00:00:02", true)},
       {"addr add 10.2.0.5/32 dev eth1"},
       {"no subnet-ipv4-cidr-block"}},
      {"nic_not_present_is_reported",
       {nic("0e:00:00:00:00:02", 1, {"10.2.0.5"}, "10.2.0.0/24")},
       Ec2PrimaryMode::Auto,
       {},
       {},
       {"EC2 device-number 1: no interface with MAC 0e:00:00:00:00:02"}},
  };
  return table;
}

class Ec2PlanTable : public ::testing::TestWithParam<Ec2PlanCase> {};

TEST_P(Ec2PlanTable, OperationsThenNothing) {
  const auto& c = GetParam();
  Ec2Metadata md;
  md.instance_id = "i-1";
  md.nics = c.nics;
  const auto plan = plan_from_ec2(md, c.mode);
  ObservedState observed{c.observed};
  const auto changes = diff(plan, observed);
  EXPECT_THAT(lines(changes.operations), ElementsAreArray(c.operations));
  auto warnings = plan.warnings;
  warnings.insert(warnings.end(), changes.warnings.begin(), changes.warnings.end());
  ASSERT_EQ(warnings.size(), c.warnings.size()) << ::testing::PrintToString(warnings);
  for (std::size_t i = 0; i < warnings.size(); ++i)
    EXPECT_THAT(warnings[i], HasSubstr(c.warnings[i]));
  for (const auto& op : changes.operations) testing::simulate(observed, op);
  EXPECT_THAT(lines(diff(plan, observed).operations), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Ec2, Ec2PlanTable, ::testing::ValuesIn(ec2_cases()),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(MetadataFallback, Table) {
  struct Case {
    const char* name;
    std::vector<Link> links;
    std::vector<std::string> operations;
  };
  const Case cases[] = {
      {"prefixed_nic_without_address_gets_ip_and_metadata_route",
       {link(1, "lo", "", true, 65536, {"127.0.0.1/8"}), link(2, "eth0", "02:00:c0:a8:7a:0a")},
       {"link set eth0 up", "addr add 192.168.122.10/24 dev eth0",
        "route add default via 192.168.122.1 dev eth0",
        "route add 169.254.169.254/32 via 192.168.122.1 dev eth0"}},
      {"an_ipv4_already_up_anywhere_means_nothing",
       {link(2, "eth0", "02:00:c0:a8:7a:0a"),
        link(3, "eth1", "0e:00:00:00:00:01", true, 1500, {"10.0.0.5/24"})},
       {}},
      {"ipv6_link_local_does_not_count",
       {link(2, "eth0", "02:00:0a:00:00:07", true, 1500, {"fe80::1/64"})},
       {"addr add 10.0.0.7/24 dev eth0", "route add default via 10.0.0.1 dev eth0",
        "route add 169.254.169.254/32 via 10.0.0.1 dev eth0"}},
      {"only_the_first_prefixed_nic",
       {link(2, "eth0", "0e:00:00:00:00:01"), link(3, "eth1", "02:00:0a:00:00:07"),
        link(4, "eth2", "02:00:0a:00:01:07")},
       {"link set eth1 up", "addr add 10.0.0.7/24 dev eth1",
        "route add default via 10.0.0.1 dev eth1",
        "route add 169.254.169.254/32 via 10.0.0.1 dev eth1"}},
      {"no_prefixed_mac_means_nothing", {link(2, "ens5", "0e:49:61:0f:c3:11")}, {}},
  };
  for (const auto& c : cases) {
    const ObservedState observed{c.links};
    const auto plan = plan_metadata_fallback(observed, {});
    EXPECT_THAT(lines(diff(plan, observed).operations), ElementsAreArray(c.operations)) << c.name;
  }
}

TEST(Backoff, DoublesUpToTheCap) {
  using ms = std::chrono::milliseconds;
  std::vector<long> got;
  for (int a = 1; a <= 7; ++a) got.push_back(backoff_delay(a, ms(100), ms(2000)).count());
  EXPECT_THAT(got, ElementsAre(100, 200, 400, 800, 1600, 2000, 2000));
  EXPECT_EQ(backoff_delay(1000, ms(100), ms(2000)).count(), 2000);
}

TEST(AgentConfigParse, DefaultsShippedFileAndOverrides) {
  const auto d = parse_agent_config("", "x");
  EXPECT_FALSE(d.order) << "no order: the registry's";
  EXPECT_EQ(setting(d, "ec2.allow_imdsv1"), 0);
  const auto c = parse_agent_config(
      "# c\n[datasources]\norder = ec2, context\nmetadata_timeout = 5\nmetadata_max_wait=0\n"
      "future_key = 1\n[ec2]\nallow_imdsv1 = TRUE\ntoken_ttl = 60\n[network]\nrenderer = "
      "ifupdown\nmac_prefix = 0a:01\n[other]\nx=y\n",
      "agent.conf");
  check_datasource_config(c);
  EXPECT_THAT(c.order.value(), ElementsAre("ec2", "context"));
  EXPECT_EQ(setting(c, "datasources.metadata_timeout"), 5);
  EXPECT_EQ(setting(c, "datasources.metadata_max_wait"), 0);
  EXPECT_EQ(setting(c, "ec2.allow_imdsv1"), 1);
  EXPECT_EQ(setting(c, "ec2.token_ttl"), 60);
  EXPECT_EQ(c.renderer, "ifupdown");
  EXPECT_EQ(c.mac_prefix, core::MacPrefix::parse("0a:01"));
  EXPECT_EQ(d.mac_prefix, core::kDefaultMacPrefix);
}

// The conffile shows every key with its default: the agent's own and each datasource's.
TEST(AgentConfigParse, TheShippedConffileParsesToTheDefaults) {
  const auto text = testing::read_text(CLOUDTWIN_AGENT_CONF);
  ASSERT_FALSE(text.empty());
  const auto c = parse_agent_config(text, CLOUDTWIN_AGENT_CONF);
  check_datasource_config(c);
  const AgentConfig d;
  EXPECT_EQ(c.order.value(), datasource_names());
  EXPECT_EQ(c.renderer, d.renderer);
  EXPECT_EQ(c.mac_prefix, d.mac_prefix);
  EXPECT_EQ(c.vpn_wait, d.vpn_wait);
  for (const auto& kind : datasource_kinds()) {
    for (const auto& spec : kind.settings) {
      const auto key = std::string(spec.key);
      const auto written = std::find_if(c.entries.begin(), c.entries.end(),
                                        [&](const core::IniEntry& e) { return e.key == key; });
      EXPECT_NE(written, c.entries.end())
          << kind.name << " reads " << key << ", which config/agent.conf does not show";
      EXPECT_EQ(setting(c, key), spec.fallback) << key;
    }
  }
}

TEST(AgentConfigParse, ErrorsNameFileLineAndKey) {
  struct Case {
    const char* text;
    std::size_t line;
    const char* message;
  };
  const Case cases[] = {
      {"[datasources]\norder = context azure\n", 2, "datasources.order = 'azure'"},
      {"[ec2]\n\ntoken_ttl = 0\n", 3, "expected a number from 1 to 21600"},
      {"[ec2]\nallow_imdsv1 = maybe\n", 2, "expected true or false"},
      {"[datasources]\nmetadata_timeout = 61\n", 2, "expected a number from 1 to 60"},
      {"[network\n", 1, "section header"},
      {"[network]\nrenderer\n", 2, "expected 'key = value'"},
      {"[network]\nmac_prefix = 02:00:01\n", 2,
       "network.mac_prefix = '02:00:01': expected two hex"},
  };
  for (const auto& c : cases) {
    try {
      check_datasource_config(parse_agent_config(c.text, "/etc/cloudtwin/agent.conf"));
      ADD_FAILURE() << "no error for " << c.text;
    } catch (const ParseError& e) {
      EXPECT_EQ(e.line(), c.line) << c.text;
      EXPECT_THAT(e.what(), HasSubstr("/etc/cloudtwin/agent.conf:"));
      EXPECT_THAT(e.what(), HasSubstr(c.message));
    }
  }
}

}  // namespace
}  // namespace cloudtwin::agent
