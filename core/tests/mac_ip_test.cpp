#include "cloudtwin/core/mac_ip.hpp"

#include <gtest/gtest.h>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::core {
namespace {

TEST(MacIp, MacFromIpv4Table) {
  struct Case {
    const char* ip;
    const char* prefix;
    const char* mac;
  };
  const Case cases[] = {
      {"192.168.1.6", "02:00", "02:00:c0:a8:01:06"},
      {"10.0.0.1", "02:00", "02:00:0a:00:00:01"},
      {"0.0.0.0", "02:00", "02:00:00:00:00:00"},
      {"255.255.255.255", "02:00", "02:00:ff:ff:ff:ff"},
      {"192.168.122.10", "0a:bc", "0a:bc:c0:a8:7a:0a"},
      {"172.16.5.4", "AA:Bb", "aa:bb:ac:10:05:04"},
  };
  for (const auto& c : cases) {
    const auto prefix = MacPrefix::parse(c.prefix);
    const auto ip = Ipv4::parse(c.ip);
    EXPECT_EQ(mac_from_ipv4(ip, prefix).to_string(), c.mac) << c.ip;
    EXPECT_EQ(ipv4_from_mac(Mac::parse(c.mac), prefix), ip) << c.mac;
  }
}

TEST(MacIp, DefaultPrefixIs0200) {
  EXPECT_EQ(mac_from_ipv4(Ipv4::parse("192.168.1.6")).to_string(), "02:00:c0:a8:01:06");
  EXPECT_EQ(ipv4_from_mac(Mac::parse("02:00:c0:a8:01:06")).to_string(), "192.168.1.6");
}

TEST(MacIp, MacParseAcceptsCaseAndDashes) {
  EXPECT_EQ(Mac::parse("02:00:C0:A8:01:06").to_string(), "02:00:c0:a8:01:06");
  EXPECT_EQ(Mac::parse("02-00-c0-a8-01-06").to_string(), "02:00:c0:a8:01:06");
}

TEST(MacIp, BadMacTable) {
  struct Case {
    const char* text;
    ErrorCode code;
    const char* message_part;
  };
  const Case cases[] = {
      {"", ErrorCode::BadMacLength, "has 0 characters; expected 17"},
      {"02:00:c0:a8:01", ErrorCode::BadMacLength, "expected 17"},
      {"02:00:c0:a8:01:06:07", ErrorCode::BadMacLength, "has 20 characters"},
      {"02:00:c0:a8:01:0g", ErrorCode::BadMacHex, "non-hex digit at position 17"},
      {"x2:00:c0:a8:01:06", ErrorCode::BadMacHex, "non-hex digit at position 1"},
      {"02:00-c0:a8:01:06", ErrorCode::BadMacHex, "expected ':' at position 6"},
      {"02.00.c0.a8.01.06", ErrorCode::BadMacHex, "separator must be ':' or '-'"},
      {"02:00:c0:a8:01: 6", ErrorCode::BadMacHex, "non-hex"},
  };
  for (const auto& c : cases) {
    try {
      Mac::parse(c.text);
      ADD_FAILURE() << "accepted '" << c.text << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), c.code) << c.text;
      EXPECT_NE(std::string(e.what()).find(c.message_part), std::string::npos) << e.what();
    }
  }
}

TEST(MacIp, WrongPrefixIsTypedError) {
  try {
    ipv4_from_mac(Mac::parse("52:54:00:12:34:56"));
    FAIL() << "accepted a MAC without the prefix";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::BadMacPrefix);
    EXPECT_NE(std::string(e.what()).find("does not start with the prefix 02:00"),
              std::string::npos);
  }
  EXPECT_FALSE(mac_has_prefix(Mac::parse("52:54:00:12:34:56")));
  EXPECT_TRUE(mac_has_prefix(Mac::parse("52:54:00:12:34:56"), MacPrefix::parse("52:54")));
  EXPECT_THROW(MacPrefix::parse("02:00:00"), Error);
  EXPECT_THROW(MacPrefix::parse("0200"), Error);
}

TEST(MacIp, Ipv4ParseTable) {
  struct Case {
    const char* text;
    bool ok;
  };
  const Case cases[] = {
      {"0.0.0.0", true},     {"255.255.255.255", true}, {"192.168.1.6", true}, {"256.1.1.1", false},
      {"1.2.3", false},      {"1.2.3.4.5", false},      {"01.2.3.4", false},   {" 1.2.3.4", false},
      {"1.2.3.4 ", false},   {"1..2.3", false},         {"a.b.c.d", false},    {"", false},
      {"1.2.3.4/24", false}, {"1234.1.1.1", false},     {"-1.2.3.4", false},
  };
  for (const auto& c : cases) {
    if (c.ok) {
      EXPECT_EQ(Ipv4::parse(c.text).to_string(), c.text);
    } else {
      EXPECT_THROW(Ipv4::parse(c.text), Error) << c.text;
    }
  }
}

TEST(MacIp, CidrTable) {
  struct Case {
    const char* text;
    const char* network;
    const char* netmask;
    const char* broadcast;
  };
  const Case cases[] = {
      {"192.168.122.7/24", "192.168.122.0", "255.255.255.0", "192.168.122.255"},
      {"10.1.2.3/8", "10.0.0.0", "255.0.0.0", "10.255.255.255"},
      {"10.1.2.3/32", "10.1.2.3", "255.255.255.255", "10.1.2.3"},
      {"10.1.2.3/0", "0.0.0.0", "0.0.0.0", "255.255.255.255"},
      {"172.16.0.0/12", "172.16.0.0", "255.240.0.0", "172.31.255.255"},
  };
  for (const auto& c : cases) {
    const auto cidr = Ipv4Cidr::parse(c.text);
    EXPECT_EQ(cidr.network().to_string(), c.network) << c.text;
    EXPECT_EQ(cidr.netmask().to_string(), c.netmask) << c.text;
    EXPECT_EQ(cidr.broadcast().to_string(), c.broadcast) << c.text;
    EXPECT_EQ(cidr.to_string(), c.text);
    EXPECT_EQ(prefix_length_from_netmask(cidr.netmask()), cidr.prefix_length);
  }
  EXPECT_TRUE(Ipv4Cidr::parse("192.168.122.0/24").contains(Ipv4::parse("192.168.122.200")));
  EXPECT_FALSE(Ipv4Cidr::parse("192.168.122.0/24").contains(Ipv4::parse("192.168.123.1")));
  for (const char* bad :
       {"192.168.1.0", "192.168.1.0/33", "192.168.1.0/", "192.168.1.0/x", "192.168.1.0/024"}) {
    EXPECT_THROW(Ipv4Cidr::parse(bad), Error) << bad;
  }
  EXPECT_THROW(prefix_length_from_netmask(Ipv4::parse("255.0.255.0")), Error);
  EXPECT_THROW(netmask_from_prefix_length(33), Error);
}

// RFC 4291 appendix A: the universal/local bit is inverted and ff:fe inserted.
TEST(MacIp, Eui64Table) {
  struct Case {
    const char* prefix;
    const char* mac;
    const char* ip6;
  };
  const Case cases[] = {
      {"2001:db8::/64", "02:00:c0:a8:01:06", "2001:db8::c0ff:fea8:106"},
      {"fd00:ec2::/64", "02:00:c0:a8:7a:0a", "fd00:ec2::c0ff:fea8:7a0a"},
      {"fe80::", "52:54:00:12:34:56", "fe80::5054:ff:fe12:3456"},
      {"2001:db8:1:2::", "00:1b:21:aa:bb:cc", "2001:db8:1:2:21b:21ff:feaa:bbcc"},
      // host bits of the prefix are ignored
      {"2001:db8:1:2:ffff::1", "00:1b:21:aa:bb:cc", "2001:db8:1:2:21b:21ff:feaa:bbcc"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ipv6_from_prefix_and_mac(c.prefix, Mac::parse(c.mac)).to_string(), c.ip6) << c.prefix;
  }
  EXPECT_THROW(ipv6_from_prefix_and_mac("2001:db8::/48", Mac::parse("02:00:c0:a8:01:06")), Error);
  EXPECT_THROW(ipv6_from_prefix_and_mac("2001:db8:::/64", Mac::parse("02:00:c0:a8:01:06")), Error);
  EXPECT_THROW(Ipv6::parse("fe80::1%eth0"), Error);
}

}  // namespace
}  // namespace cloudtwin::core
