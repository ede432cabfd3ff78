#include "cloudtwin/metadata/cli.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::metadata {
namespace {

struct CliCase {
  std::vector<std::string> args;
  int exit_code;
  std::string out_contains;
  std::string err_contains;
};

TEST(MetadataCli, Table) {
  const CliCase cases[] = {
      {{"--help"}, 0, "usage: cloudtwin-metadata", ""},
      {{"--version"}, 0, "cloudtwin-metadata 0.", ""},
      {{"--bogus"}, 2, "", "unknown command or option '--bogus'"},
      {{"--listen"}, 2, "", "option '--listen' needs a value"},
      {{"--listen", "1.2.3:80"}, 2, "", "listen address '1.2.3:80'"},
  };
  for (const auto& c : cases) {
    std::ostringstream out, err;
    EXPECT_EQ(run_cli(c.args, out, err), c.exit_code) << c.args[0];
    EXPECT_NE(out.str().find(c.out_contains), std::string::npos) << out.str();
    EXPECT_NE(err.str().find(c.err_contains), std::string::npos) << err.str();
  }
}

TEST(ListenSpec, Parse) {
  EXPECT_EQ(ListenSpec::parse("127.0.0.1:0"), (ListenSpec{"127.0.0.1", 0, ""}));
  EXPECT_EQ(ListenSpec::parse("169.254.169.254:80@br0"),
            (ListenSpec{"169.254.169.254", 80, "br0"}));
  EXPECT_EQ(ListenSpec::parse("[FD00:EC2::254]:80"), (ListenSpec{"fd00:ec2::254", 80, ""}));
  EXPECT_EQ(ListenSpec::parse("[fd00:ec2::254]:8080@virbr1").to_string(),
            "[fd00:ec2::254]:8080@virbr1");
  for (const char* bad : {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:x", "fd00::1:80",
                          "[fd00::1]80", "1.2.3.4:80@", "1.2.3.4:80@waytoolongdevicename0"}) {
    EXPECT_THROW(ListenSpec::parse(bad), Error) << bad;
  }
}

TEST(Config, IniAndFlags) {
  const std::string ini =
      "# comment\n[server]\nlisten = 127.0.0.1:8080  [::1]:8081@lo\ninstances_dir = /srv/inst\n"
      "libvirt_uri = qemu:///system\naccess_log = yes\n; another\n[identity]\nkey = /k\ncert = /c\n"
      "[imds]\ndefault_hop_limit = 1\nsurprise = 1\n";
  CliOptions flags = parse_cli({"--identity-cert", "/flag.crt"});
  std::vector<std::string> warnings;
  const auto c = effective_config(flags, ini, "m.conf", warnings);
  EXPECT_EQ(c.listen, (std::vector<ListenSpec>{{"127.0.0.1", 8080, ""}, {"::1", 8081, "lo"}}));
  EXPECT_EQ(c.instances_dir, "/srv/inst");
  EXPECT_TRUE(c.access_log);
  EXPECT_EQ(c.identity_key, "/k");
  EXPECT_EQ(c.identity_cert, "/flag.crt");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "m.conf:13: unknown key 'imds.surprise' ignored");

  flags = parse_cli({"--listen", "10.0.0.1:80", "--listen", "10.0.0.2:80@br1"});
  EXPECT_EQ(effective_config(flags, ini, "m.conf", warnings).listen.size(), 2u);
  EXPECT_EQ(effective_config(CliOptions{}, std::nullopt, "", warnings).listen.size(),
            2u);  // built-in defaults
}

TEST(Config, BadLinesNameFileAndLine) {
  Config c;
  try {
    apply_ini(c, "[server]\nlisten = 1.2.3.4\n", "m.conf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.conf:2: server.listen"), std::string::npos) << e.what();
  }
  EXPECT_THROW(apply_ini(c, "[server\n", "m.conf"), Error);
  EXPECT_THROW(apply_ini(c, "[server]\njust words\n", "m.conf"), Error);
  EXPECT_THROW(apply_ini(c, "[server]\nthreads = 0\n", "m.conf"), Error);
}

TEST(Config, ImdsDefaultsAndLimits) {
  Config c;
  EXPECT_TRUE(apply_ini(c,
                        "[imds]\ntoken_ttl_max = 300\ndefault_hop_limit = 3\nallow_imdsv1 = false\n"
                        "[limits]\nrequests_per_second = 0\nburst = 5\nconnections_per_vm = 9\n"
                        "[server]\nneighbor_check = no\n",
                        "m.conf")
                  .empty());
  EXPECT_EQ(c.token_ttl_max, 300);
  EXPECT_EQ(c.record_defaults.hop_limit, 3);
  EXPECT_EQ(c.record_defaults.http_tokens, record::HttpTokens::Required);
  EXPECT_EQ(c.limits.requests_per_second, 0);
  EXPECT_EQ(c.limits.burst, 5);
  EXPECT_EQ(c.limits.connections_per_vm, 9u);
  EXPECT_FALSE(c.neighbor_check);
  // The defaults fill what a record leaves out, and only that.
  const auto bare = record::parse_instance_json(R"({"instance-id":"i-1"})", "t", c.record_defaults);
  EXPECT_EQ(bare.options.hop_limit, 3);
  EXPECT_EQ(bare.options.http_tokens, record::HttpTokens::Required);
  const auto own = record::parse_instance_json(
      R"({"instance-id":"i-1","metadata-options":{"http-tokens":"optional",
          "http-put-response-hop-limit":1}})",
      "t", c.record_defaults);
  EXPECT_EQ(own.options.hop_limit, 1);
  EXPECT_EQ(own.options.http_tokens, record::HttpTokens::Optional);
  for (const char* bad : {"[imds]\ntoken_ttl_max = 21601\n", "[imds]\ndefault_hop_limit = 0\n",
                          "[imds]\nallow_imdsv1 = maybe\n", "[limits]\nburst = 0\n",
                          "[limits]\nrequests_per_second = -1\n"}) {
    EXPECT_THROW(apply_ini(c, bad, "m.conf"), Error) << bad;
  }
}

TEST(Config, ShippedConfigFileParses) {
  const std::string path =
      std::string(CLOUDTWIN_METADATA_TESTDATA) + "/../../../config/metadata.conf";
  std::ifstream in(path);
  if (!in) GTEST_SKIP() << "config/metadata.conf not present in this tree";
  std::stringstream text;
  text << in.rdbuf();
  Config c;
  EXPECT_TRUE(apply_ini(c, text.str(), path).empty());
}

}  // namespace
}  // namespace cloudtwin::metadata

namespace cloudtwin::metadata {
namespace {

TEST(Config, AccountIdHeaderTimeoutAndRsa2048Paths) {
  Config c;
  EXPECT_TRUE(apply_ini(c,
                        "[imds]\naccount_id = 012345678901\n[server]\nheader_timeout = 3\n"
                        "[identity]\nrsa2048_key = /k\nrsa2048_cert = /c\n",
                        "m.conf")
                  .empty());
  EXPECT_EQ(c.account_id, "012345678901");
  EXPECT_EQ(c.header_timeout, std::chrono::seconds(3));
  EXPECT_EQ(c.identity_rsa2048_key, "/k");
  EXPECT_EQ(c.identity_rsa2048_cert, "/c");
  for (const char* bad : {"[imds]\naccount_id = 12345\n", "[imds]\naccount_id = 12345678901x\n",
                          "[imds]\naccount_id = 1234567890123\n", "[server]\nheader_timeout = 0\n",
                          "[server]\nheader_timeout = 31\n"}) {
    EXPECT_THROW(apply_ini(c, bad, "m.conf"), Error) << bad;
  }
  // Derived: 12 digits, stable, different between hosts.
  const auto a = derive_account_id("0123456789abcdef0123456789abcdef");
  EXPECT_EQ(a.size(), 12u);
  EXPECT_EQ(a.find_first_not_of("0123456789"), std::string::npos);
  EXPECT_EQ(derive_account_id("0123456789abcdef0123456789abcdef"), a);
  EXPECT_NE(derive_account_id("fedcba9876543210fedcba9876543210"), a);
}

}  // namespace
}  // namespace cloudtwin::metadata
