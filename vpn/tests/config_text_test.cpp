#include "cloudtwin/vpn/config_text.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/vpn/files.hpp"

namespace cloudtwin::vpn {
namespace {

using core::Ipv4;

// Golden files: vpn/tests/golden/*, compared byte for byte. After an intended change to
// the rendered text, regenerate them and review the diff before committing:
//   CLOUDTWIN_UPDATE_GOLDEN=1 build/ci/vpn/vpn_test --gtest_filter='ConfigText.*Golden*'
//   git diff vpn/tests/golden/
void expect_golden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(CLOUDTWIN_VPN_GOLDEN_DIR) + "/" + name;
  if (std::getenv("CLOUDTWIN_UPDATE_GOLDEN") != nullptr) write_file_atomic(path, actual, 0644);
  const auto golden = read_file_if_exists(path);
  ASSERT_TRUE(golden) << "missing golden file " << path
                      << "; create it with CLOUDTWIN_UPDATE_GOLDEN=1 (see above)";
  const std::string& expected = *golden;
  if (expected == actual) return;
  // Name the first differing line: a byte diff of a whole config is hard to read.
  std::istringstream e(expected), a(actual);
  std::string el, al;
  for (int line = 1;; ++line) {
    const bool more_e = static_cast<bool>(std::getline(e, el));
    const bool more_a = static_cast<bool>(std::getline(a, al));
    if (!more_e && !more_a) break;
    if (!more_e || !more_a || el != al) {
      ADD_FAILURE() << path << ":" << line << ": expected '" << (more_e ? el : "<end>")
                    << "', rendered '" << (more_a ? al : "<end>") << "'";
      return;
    }
  }
  ADD_FAILURE() << path << ": differs only in line endings or the final newline";
}

ServerConfig lan_server() {
  ServerConfig c;
  c.state_dir = "/var/lib/cloudtwin/vpn/default";
  c.port = 1194;
  c.gateway = Ipv4::parse("192.168.122.1");
  c.netmask = Ipv4::parse("255.255.255.0");
  c.pool_start = Ipv4::parse("192.168.122.239");
  c.pool_end = Ipv4::parse("192.168.122.254");
  return c;
}

TEST(ConfigText, ServerConfigGolden) {
  expect_golden("server.conf", render_server_config(lan_server()));
}

TEST(ConfigText, ServerConfigBindAddressGolden) {
  auto c = lan_server();
  c.bind_address = "198.51.100.1";
  c.port = 443;
  c.tap_device = "tap-lab";
  c.status_interval_seconds = 5;
  expect_golden("server-bind.conf", render_server_config(c));
}

TEST(ConfigText, BridgeUpScriptGolden) {
  expect_golden("bridge-up.sh", render_bridge_up_script("virbr0"));
}

TEST(ConfigText, CcdGolden) {
  expect_golden("ccd.conf",
                render_ccd(Ipv4::parse("192.168.122.10"), Ipv4::parse("255.255.255.0")));
}

TEST(ConfigText, ClientProfileGolden) {
  // Stand-ins for the PEM blocks (the PKI tests cover real ones); KEY lacks its final
  // newline to pin that the renderer adds one before the closing tag.
  ClientProfile c{
      "i-0abc",
      "vpn.example.org",
      1194,
      "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n",
      "-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n",
      "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----",
      "-----BEGIN OpenVPN Static key V1-----\nTLS\n-----END OpenVPN Static key V1-----\n"};
  expect_golden("client.conf", render_client_profile(c));
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
