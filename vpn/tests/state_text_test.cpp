#include "cloudtwin/vpn/state_text.hpp"

#include <gtest/gtest.h>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::vpn {
namespace {

using core::Ipv4;
using core::Ipv4Cidr;

Settings sample_settings() {
  return {Ipv4Cidr::parse("192.168.122.0/24"),
          Ipv4::parse("192.168.122.1"),
          "virbr0",
          "vpn.example.org",
          1194,
          Ipv4::parse("192.168.122.238"),
          Ipv4::parse("192.168.122.253")};
}

TEST(StateText, SettingsRoundTrip) {
  const auto text = render_settings(sample_settings());
  EXPECT_EQ(text,
            "# cloudtwin vpn settings, written by `cloudtwin vpn init`\n"
            "network=192.168.122.0/24\n"
            "gateway=192.168.122.1\n"
            "bridge=virbr0\n"
            "remote_host=vpn.example.org\n"
            "port=1194\n"
            "pool_start=192.168.122.238\n"
            "pool_end=192.168.122.253\n");
  EXPECT_EQ(parse_settings(text, "settings"), sample_settings());
}

TEST(StateText, SettingsErrors) {
  const auto good = render_settings(sample_settings());
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"network\n", "settings:1:1: expected KEY=VALUE"},
      {"network=10.0.0.0/8\n", "missing key 'gateway'"},
      {std::string(good).replace(good.find("port=1194"), 9, "port=0"), "settings:6:6: bad port"},
      {std::string(good).replace(good.find("port=1194"), 9, "port=x"), "bad port 'x'"},
      {std::string(good).replace(good.find("gateway=192"), 11, "gateway=999"), "settings:3:9:"},
  };
  for (const auto& c : cases) {
    try {
      parse_settings(c.text, "settings");
      ADD_FAILURE() << "no error for " << c.message;
    } catch (const ParseError& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
    }
  }
}

TEST(StateText, IndexRoundTrip) {
  const std::vector<IndexEntry> entries{
      {"i-0abc", Ipv4::parse("192.168.122.10"), "5A3F", CertState::Issued, 1700000000, 0},
      {"one-7", Ipv4::parse("192.168.122.11"), "0B12", CertState::Revoked, 1700000001, 1700000100},
  };
  const auto text = render_index(entries);
  EXPECT_EQ(text,
            "i-0abc 192.168.122.10 5A3F issued 1700000000 0\n"
            "one-7 192.168.122.11 0B12 revoked 1700000001 1700000100\n");
  EXPECT_EQ(parse_index(text, "index.txt"), entries);
  EXPECT_TRUE(parse_index("", "index.txt").empty());
}

TEST(StateText, IndexErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"a 1.2.3.4 FF issued 1\n", "index.txt:1:1: expected 6 fields"},
      {"a 1.2.3 FF issued 1 0\n", "index.txt:1:1: IPv4"},
      {"\na 1.2.3.4 FF gone 1 0\n", "index.txt:2:1: state must be"},
      {"a 1.2.3.4 FF issued x 0\n", "times must be unix seconds"},
  };
  for (const auto& [text, message] : cases) {
    try {
      parse_index(text, "index.txt");
      ADD_FAILURE() << "no error for " << text;
    } catch (const ParseError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
}

TEST(StateText, StatusV2) {
  // As written by OpenVPN 2.6 with status-version 2 (TAP mode: virtual address is a MAC).
  const std::string text =
      "TITLE,OpenVPN 2.6.14 x86_64-pc-linux-gnu\n"
      "TIME,2026-07-01 20:20:20,1782937220\n"
      "HEADER,CLIENT_LIST,Common Name,Real Address,Virtual Address,Virtual IPv6 Address,"
      "Bytes Received,Bytes Sent,Connected Since,Connected Since (time_t),Username,Client ID,"
      "Peer ID,Data Channel Cipher\n"
      "CLIENT_LIST,i-0abc,198.51.100.2:41234,,,3821,3590,2026-07-01 20:20:18,1782937218,"
      "UNDEF,7,0,AES-256-GCM\n"
      "HEADER,ROUTING_TABLE,Virtual Address,Common Name,Real Address,Last Ref,Last Ref (time_t)\n"
      "ROUTING_TABLE,ae:12:34:56:78:9a,i-0abc,198.51.100.2:41234,2026-07-01 20:20:19,1782937219\n"
      "GLOBAL_STATS,Max bcast/mcast queue length,0\n"
      "END\n";
  const auto clients = parse_status_v2(text);
  ASSERT_EQ(clients.size(), 1U);
  EXPECT_EQ(clients[0], (ConnectedClient{"i-0abc", "198.51.100.2:41234", 1782937218, 7}));
  EXPECT_TRUE(parse_status_v2("").empty());
  EXPECT_TRUE(parse_status_v2("CLIENT_LIST\n").empty());
}

TEST(StateText, DefaultPool) {
  const std::tuple<const char*, const char*, const char*> cases[] = {
      {"192.168.122.0/24", "192.168.122.239", "192.168.122.254"},
      {"10.0.0.0/8", "10.255.255.239", "10.255.255.254"},
      {"192.168.1.0/28", "192.168.1.12", "192.168.1.14"},
      {"192.168.1.0/29", "192.168.1.6", "192.168.1.6"},
  };
  for (const auto& [cidr, first, last] : cases) {
    const auto [start, end] = default_pool(Ipv4Cidr::parse(cidr));
    EXPECT_EQ(start.to_string(), first) << cidr;
    EXPECT_EQ(end.to_string(), last) << cidr;
  }
  EXPECT_THROW(default_pool(Ipv4Cidr::parse("192.168.1.0/30")), Error);
}

}  // namespace
}  // namespace cloudtwin::vpn
