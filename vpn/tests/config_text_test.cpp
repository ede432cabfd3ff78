#include "cloudtwin/vpn/config_text.hpp"

#include <gtest/gtest.h>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::vpn {
namespace {

using core::Ipv4;

TEST(ConfigText, ServerConfigGolden) {
  ServerConfig c;
  c.state_dir = "/var/lib/cloudtwin/vpn";
  c.port = 1194;
  c.gateway = Ipv4::parse("192.168.122.1");
  c.netmask = Ipv4::parse("255.255.255.0");
  c.pool_start = Ipv4::parse("192.168.122.238");
  c.pool_end = Ipv4::parse("192.168.122.254");
  EXPECT_EQ(render_server_config(c),
            "# Written by `cloudtwin vpn init`; regenerated, do not edit.\n"
            "# TAP bridge mode: the tap joins the LAN bridge through the up script.\n"
            "proto udp\n"
            "port 1194\n"
            "dev tap-cloudtwin\n"
            "dev-type tap\n"
            "server-bridge 192.168.122.1 255.255.255.0 192.168.122.238 192.168.122.254\n"
            "client-to-client\n"
            "client-config-dir /var/lib/cloudtwin/vpn/ccd\n"
            "ca /var/lib/cloudtwin/vpn/ca.crt\n"
            "cert /var/lib/cloudtwin/vpn/server.crt\n"
            "key /var/lib/cloudtwin/vpn/server.key\n"
            "dh none\n"
            "tls-crypt /var/lib/cloudtwin/vpn/tls-crypt.key\n"
            "crl-verify /var/lib/cloudtwin/vpn/crl.pem\n"
            "remote-cert-tls client\n"
            "tls-version-min 1.2\n"
            "data-ciphers AES-256-GCM:CHACHA20-POLY1305\n"
            "keepalive 10 60\n"
            "persist-key\n"
            "script-security 2\n"
            "up /var/lib/cloudtwin/vpn/bridge-up.sh\n"
            "status /var/lib/cloudtwin/vpn/openvpn-status.log 10\n"
            "status-version 2\n"
            "management /var/lib/cloudtwin/vpn/management.sock unix\n"
            "verb 3\n");
}

TEST(ConfigText, ServerConfigBindAddress) {
  ServerConfig c;
  c.state_dir = "/s";
  c.bind_address = "198.51.100.1";
  c.port = 443;
  const auto text = render_server_config(c);
  EXPECT_NE(text.find("port 443\nlocal 198.51.100.1\ndev "), std::string::npos) << text;
}

TEST(ConfigText, BridgeUpScriptGolden) {
  EXPECT_EQ(render_bridge_up_script("virbr0"),
            "#!/bin/sh\n"
            "# Written by `cloudtwin vpn init`: OpenVPN runs this with the tap device in $dev.\n"
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
            "exec ip link set dev \"$dev\" master 'virbr0' up\n");
}

TEST(ConfigText, CcdGolden) {
  EXPECT_EQ(render_ccd(Ipv4::parse("192.168.122.10"), Ipv4::parse("255.255.255.0")),
            "ifconfig-push 192.168.122.10 255.255.255.0\n");
}

TEST(ConfigText, ClientProfileGolden) {
  ClientProfile c{"i-0abc", "vpn.example.org", 1194, "CA\n", "CERT\n", "KEY", "TLS\n"};
  EXPECT_EQ(render_client_profile(c),
            "# cloudtwin overlay profile for i-0abc; contains its private key.\n"
            "client\n"
            "dev tap\n"
            "remote vpn.example.org 1194 udp\n"
            "nobind\n"
            "persist-key\n"
            "persist-tun\n"
            "resolv-retry infinite\n"
            "remote-cert-tls server\n"
            "verify-x509-name cloudtwin-vpn name\n"
            "tls-version-min 1.2\n"
            "data-ciphers AES-256-GCM:CHACHA20-POLY1305\n"
            "verb 3\n"
            "<ca>\nCA\n</ca>\n"
            "<cert>\nCERT\n</cert>\n"
            "<key>\nKEY\n</key>\n"
            "<tls-crypt>\nTLS\n</tls-crypt>\n");
}

std::vector<std::uint8_t> counting_key() {
  std::vector<std::uint8_t> key(kStaticKeyBytes);
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i);
  return key;
}

TEST(ConfigText, StaticKeyFormat) {
  const auto text = format_static_key(counting_key());
  EXPECT_EQ(text.rfind("#\n# 2048 bit OpenVPN static key\n#\n"
                       "-----BEGIN OpenVPN Static key V1-----\n"
                       "000102030405060708090a0b0c0d0e0f\n101112",
                       0),
            0U);
  EXPECT_NE(text.find("\nf0f1f2f3f4f5f6f7f8f9fafbfcfdfeff\n-----END OpenVPN Static key V1-----\n"),
            std::string::npos);
  std::size_t lines = 0;
  for (const char ch : text) lines += ch == '\n' ? 1U : 0U;
  EXPECT_EQ(lines, 3U + 1U + 16U + 1U);
  EXPECT_EQ(parse_static_key(text), counting_key());
  EXPECT_THROW(format_static_key(std::vector<std::uint8_t>(255)), Error);
}

TEST(ConfigText, StaticKeyParseErrors) {
  const auto good = format_static_key(counting_key());
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"", "no '-----BEGIN OpenVPN Static key V1-----' line"},
      {good.substr(0, good.find("-----END")), "no '-----END"},
      {std::string(good).replace(good.find("000102"), 2, "zz"), ":5:1: not a hex digit"},
      {std::string(good).erase(good.find("000102"), 33), "expected 256 bytes, got 240"},
      {std::string(good).erase(good.find("000102"), 1), ":5:1: expected 32 hex digits"},
  };
  for (const auto& c : cases) {
    try {
      parse_static_key(c.text);
      ADD_FAILURE() << "no error for " << c.message;
    } catch (const ParseError& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
    }
  }
}

TEST(ConfigText, VmIds) {
  const std::pair<const char*, bool> cases[] = {
      {"i-0123456789abcdef0", true},
      {"one-42", true},
      {"vm_1.local", true},
      {"", false},
      {".hidden", false},
      {"-x", false},
      {"a/b", false},
      {"a b", false},
      {"../x", false},
      {"é", false},
  };
  for (const auto& [id, ok] : cases) EXPECT_EQ(is_valid_vm_id(id), ok) << id;
  EXPECT_TRUE(is_valid_vm_id(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_vm_id(std::string(65, 'a')));
}

}  // namespace
}  // namespace cloudtwin::vpn
