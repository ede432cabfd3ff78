// NoCloud: meta-data and network-config v1/v2 tables (text -> plan, one line per item), and
// real seed ISOs made by genisoimage read through libisofs.
#include "cloudtwin/agent/nocloud.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cloudtwin/agent/adapters/iso_disk.hpp"
#include "cloudtwin/core/error.hpp"
#include "temp_dir.hpp"

namespace cloudtwin::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One line per NIC: "MAC method [mtu N] addr... | route... | dns... | search..."
std::vector<std::string> lines(const NetworkPlan& plan) {
  std::vector<std::string> out;
  for (const auto& n : plan.nics) {
    std::string l = n.mac.to_string() + " " + to_string(n.method);
    if (n.ipv6_autoconf) l += " +ra";
    if (n.mtu) l += " mtu " + std::to_string(*n.mtu);
    for (const auto& a : n.addresses) l += " " + to_string(a);
    l += " |";
    for (const auto& r : n.routes) l += " " + to_string(r) + ";";
    l += " |";
    for (const auto& d : n.dns) l += " " + d;
    l += " |";
    for (const auto& s : n.search_domains) l += " " + s;
    out.push_back(l);
  }
  for (const auto& w : plan.warnings) out.push_back("warning: " + w);
  return out;
}

// Exactly what host/src/nocloud.cpp writes (JSON-quoted scalars).
const std::string kHostV2 =
    "version: 2\nethernets:\n  eth0:\n    match:\n      macaddress: \"02:00:c0:a8:7a:0a\"\n"
    "    addresses:\n      - \"192.168.122.10/24\"\n    routes:\n      - to: \"0.0.0.0/0\"\n"
    "        via: \"192.168.122.1\"\n    nameservers:\n      addresses:\n        - \"1.1.1.1\"\n"
    "  eth1:\n    match:\n      macaddress: \"02:00:0a:00:00:05\"\n    addresses:\n"
    "      - \"10.0.0.5/16\"\n";

TEST(NetworkConfig, Table) {
  struct Case {
    const char* name;
    std::string yaml;
    std::vector<std::string> expected;
  } cases[] = {
      {"host_v2",
       kHostV2,
       {"02:00:c0:a8:7a:0a static 192.168.122.10/24 | default via 192.168.122.1; | 1.1.1.1 |",
        "02:00:0a:00:00:05 static 10.0.0.5/16 | | |"}},
      {"v2_under_network_gateway4_dhcp_mtu",
       "network:\n  version: 2\n  ethernets:\n    a:\n      match: {macaddress: "
       "'02:00:00:00:00:01'}\n"
       "      dhcp4: true\n      dhcp6: true\n      mtu: 9000\n"
       "    b:\n      match: {macaddress: '02:00:00:00:00:02'}\n      addresses: [2001:db8::5/64]\n"
       "      gateway6: 2001:db8::1\n      nameservers: {addresses: [9.9.9.9], search: "
       "[example.org]}\n"
       "    c:\n      dhcp4: true\n",
       {"02:00:00:00:00:01 dhcp +ra mtu 9000 | | |",
        "02:00:00:00:00:02 static 2001:db8::5/64 | default via 2001:db8::1; | 9.9.9.9 | "
        "example.org",
        "warning: nc: ethernets.c has no match.macaddress; left out"}},
      {"v1_static_dhcp_nameserver",
       "version: 1\nconfig:\n  - type: physical\n    name: eth0\n    mac_address: "
       "'02:00:00:00:00:01'\n"
       "    mtu: 1400\n    subnets:\n      - type: static\n        address: 192.168.1.6\n"
       "        netmask: 255.255.255.0\n        gateway: 192.168.1.1\n"
       "        dns_nameservers: [192.168.1.1]\n        routes:\n"
       "          - {network: 10.0.0.0, netmask: 255.0.0.0, gateway: 192.168.1.254}\n"
       "  - type: physical\n    name: eth1\n    mac_address: '02:00:00:00:00:02'\n"
       "    subnets: [{type: dhcp}]\n"
       "  - type: bond\n    name: bond0\n"
       "  - type: nameserver\n    address: [8.8.8.8]\n    search: [lan]\n",
       {"02:00:00:00:00:01 static mtu 1400 192.168.1.6/24 | default via 192.168.1.1; 10.0.0.0/8 "
        "via "
        "192.168.1.254; | 192.168.1.1 8.8.8.8 | lan",
        "02:00:00:00:00:02 dhcp | | |",
        "warning: nc: config entry 'bond0' of type 'bond' not supported; left out"}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(lines(parse_network_config(c.yaml, "nc")), c.expected) << c.name;
  }
}

TEST(NetworkConfig, Errors) {
  struct Case {
    std::string yaml;
    std::string error;
  } cases[] = {
      {"version: 3\n", "nc:1:1: network-config version '3': expected 1 or 2"},
      {"version: 2\nethernets: {a: {match: {macaddress: 'zz'}}}\n", "nc:2:"},
      {"version: 2\nethernets: {a: {match: {macaddress: '02:00:00:00:00:01'}, addresses: "
       "[300.1.1.1/24]}}\n",
       "a.addresses"},
      {"version: 2\nethernets: {a: {match: {macaddress: '02:00:00:00:00:01'}, addresses: "
       "[192.168.122.0/214]}}\n",
       "prefix length must be 0..32"},
      {"version: 2\nethernets: {a: {match: {macaddress: '02:00:00:00:00:01'}, addresses: "
       "['2001:db8::1/129']}}\n",
       "prefix length must be 0..128"},
      {"version: 2\nethernets: {a: {match: {macaddress: '02:00:00:00:00:01'}, addresses: "
       "[10.0.0.1/2x]}}\n",
       "a.addresses"},
      {"version: 1\nconfig: [{type: physical, name: e, mac_address: '02:00:00:00:00:01', "
       "subnets: [{type: static, address: 10.0.0.1/-1}]}]\n",
       "e.subnets"},
      {"version: [2\n", "nc:"},
      {"- a\n", "expected a mapping"},
  };
  for (const auto& c : cases) {
    try {
      parse_network_config(c.yaml, "nc");
      ADD_FAILURE() << "accepted: " << c.yaml;
    } catch (const ParseError& e) {
      EXPECT_THAT(e.what(), HasSubstr(c.error)) << c.yaml;
    }
  }
}

TEST(MetaData, Table) {
  EXPECT_EQ(parse_nocloud_meta_data("instance-id: \"i-1\"\nlocal-hostname: \"vm1\"\npublic-keys:\n"
                                    "  - \"ssh-ed25519 AAAA a@b\"\n",
                                    "m"),
            (NoCloudMetaData{"i-1", "vm1", {"ssh-ed25519 AAAA a@b"}}));
  EXPECT_EQ(
      parse_nocloud_meta_data("instance-id: i-2\nhostname: h\npublic-keys: {k1: ssh-rsa X}\n", "m"),
      (NoCloudMetaData{"i-2", "h", {"ssh-rsa X"}}));
  EXPECT_EQ(parse_nocloud_meta_data("instance-id: i-3\npublic-keys: ssh-rsa Y\n", "m"),
            (NoCloudMetaData{"i-3", std::nullopt, {"ssh-rsa Y"}}));
  EXPECT_THROW(parse_nocloud_meta_data("local-hostname: x\n", "m"), ParseError);
  EXPECT_THROW(parse_nocloud_meta_data("instance-id: [\n", "m"), ParseError);
}

class NoSearch : public DiskLocator {
 public:
  std::optional<std::string> find_by_label(const std::string& label) override {
    asked.push_back(label);
    return std::nullopt;
  }
  std::vector<std::string> asked;
};

TEST(NoCloudSeed, ReadsAHostStyleSeedIsoAndLooksForBothLabelCases) {
  if (!testing::have_program("genisoimage")) GTEST_SKIP() << "genisoimage is not installed";
  testing::TempDir dir;
  const auto iso = testing::make_iso(
      dir,
      {{"meta-data",
        "instance-id: \"i-0abc\"\nlocal-hostname: \"web1\"\npublic-keys:\n  - \"ssh-ed25519 K\"\n"},
       {"user-data", "#cloud-config\nruncmd: [true]\n"},
       {"network-config", kHostV2}},
      "cidata");
  NoSearch locator;
  ContextCdOptions o;
  o.label = "cidata";
  o.device = iso.string();
  NoCloudDatasource source(locator, open_iso_disk, o);
  ASSERT_TRUE(source.probe());
  EXPECT_EQ(source.instance_id(), "i-0abc");
  EXPECT_EQ(source.hostname(), "web1");
  EXPECT_THAT(source.ssh_public_keys(), ElementsAre("ssh-ed25519 K"));
  EXPECT_EQ(source.user_data(), "#cloud-config\nruncmd: [true]\n");
  EXPECT_EQ(lines(source.network_plan({}))[0],
            "02:00:c0:a8:7a:0a static 192.168.122.10/24 | default via 192.168.122.1; | 1.1.1.1 |");

  // Not there: both spellings of the label are looked for, then "not found".
  ContextCdOptions search;
  search.label = "cidata";
  NoCloudDatasource absent(locator, open_iso_disk, search);
  EXPECT_FALSE(absent.probe());
  EXPECT_THAT(locator.asked, ElementsAre("cidata", "CIDATA"));

  // A seed without meta-data is present but broken.
  const auto broken = testing::make_iso(dir, {{"user-data", "#!/bin/sh\n"}}, "CIDATA");
  o.device = broken.string();
  NoCloudDatasource no_meta(locator, open_iso_disk, o);
  try {
    no_meta.probe();
    ADD_FAILURE() << "a seed without meta-data was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("has no meta-data file"));
  }
}

}  // namespace
}  // namespace cloudtwin::agent
