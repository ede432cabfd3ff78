#include "cloudtwin/vpn/cli.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

#include "cloudtwin/vpn/files.hpp"
#include "test_support.hpp"

namespace cloudtwin::vpn {
namespace {

struct CliCase {
  std::vector<std::string> args;
  int exit_code;
  std::string out_contains;
  std::string err_contains;
};

void run_cases(const std::vector<CliCase>& cases) {
  for (const auto& c : cases) {
    std::ostringstream out, err;
    EXPECT_EQ(run_cli(c.args, out, err), c.exit_code) << c.args[0] << " " << err.str();
    EXPECT_NE(out.str().find(c.out_contains), std::string::npos) << out.str();
    EXPECT_NE(err.str().find(c.err_contains), std::string::npos) << err.str();
  }
}

TEST(VpnCli, Table) {
  run_cases({
      {{"--help"}, 0, "usage: cloudtwin vpn", ""},
      {{"--version"}, 0, "cloudtwin vpn 0.", ""},
      {{"--bogus"}, 2, "", "unknown command or option '--bogus'"},
      {{"init", "--gateway", "10.0.0.1"}, 2, "", "missing --network-cidr"},
      {{"init", "--nope", "x"}, 2, "", "unknown option '--nope' for init"},
      {{"init", "--gateway"}, 2, "", "option '--gateway' needs a value"},
      {{"issue", "--ip", "10.0.0.5"}, 2, "", "issue needs exactly one VM_ID"},
      {{"init", "--network-cidr", "10.0.0.0/33", "--gateway", "10.0.0.1", "--bridge", "br0"},
       1,
       "",
       "cloudtwin vpn: CIDR"},
      {{"list", "--network", "default", "--state-dir", "/tmp/x"},
       2,
       "",
       "give --network or --state-dir, not both"},
      {{"list", "--network", "../etc"}, 2, "", "network name '../etc' must be"},
  });
}

TEST(VpnCli, InitIssueListRevoke) {
  test::TempDir dir;
  const auto sd = "--state-dir=" + dir.path();
  run_cases({
      {{"init", "--network-cidr", "10.9.0.0/24", "--gateway", "10.9.0.1", "--bridge", "br0",
        "--listen", "vpn.example.org:1195", sd},
       0,
       "initialised " + dir.path() + "; server config " + dir.path() +
           "/server.conf\nstart the server: openvpn --config " + dir.path() +
           "/server.conf\n(the cloudtwin-vpn@NET unit runs /var/lib/cloudtwin/vpn/NET/server.conf",
       ""},
      {{"init", "--network-cidr", "10.9.0.0/24", "--gateway", "10.9.0.1", "--bridge", "br0",
        "--listen", "vpn.example.org:1195", sd},
       0,
       "already initialised",
       ""},
      {{"issue", "i-0abc", "--ip", "10.9.0.20", sd}, 0, dir.path() + "/clients/i-0abc.ovpn\n", ""},
      {{"list", sd}, 0, "i-0abc 10.9.0.20 issued -\n", ""},
      {{"revoke", "i-0abc", sd}, 0, "revoked i-0abc\n", ""},
      {{"revoke", "i-0abc", sd}, 0, "already revoked i-0abc\n", ""},
      {{"revoke", "i-zzz", sd}, 1, "", "VM i-zzz has no VPN profile"},
      {{"issue", "i-0def", "--ip", "10.9.0.21", sd}, 0, "i-0def.ovpn", ""},
  });
  std::ostringstream out, err;
  ASSERT_EQ(run_cli({"list", "--json", sd}, out, err), 0);
  const auto json = nlohmann::json::parse(out.str());
  ASSERT_EQ(json.size(), 2U) << out.str();
  EXPECT_EQ(json[0].at("vm-id"), "i-0abc");
  EXPECT_EQ(json[0].at("ip"), "10.9.0.20");
  EXPECT_EQ(json[0].at("state"), "revoked");
  EXPECT_EQ(json[0].at("connected"), false);
  EXPECT_FALSE(json[0].contains("real-address"));
  EXPECT_EQ(json[1].at("vm-id"), "i-0def");
  EXPECT_EQ(json[1].at("state"), "issued");
  EXPECT_FALSE(json[1].at("serial").get<std::string>().empty());
  EXPECT_NE(read_file(dir.path() + "/clients/i-0def.ovpn").find("remote vpn.example.org 1195 udp"),
            std::string::npos);
  EXPECT_NE(read_file(dir.path() + "/server.conf").find("port 1195\n"), std::string::npos);
}

TEST(VpnCli, EmptyListJson) {
  test::TempDir dir;
  std::ostringstream out, err;
  ASSERT_EQ(run_cli({"init", "--network-cidr", "10.9.0.0/24", "--gateway", "10.9.0.1", "--bridge",
                     "br0", "--state-dir", dir.path()},
                    out, err),
            0)
      << err.str();
  out.str("");
  ASSERT_EQ(run_cli({"list", "--json", "--state-dir", dir.path()}, out, err), 0);
  EXPECT_EQ(out.str(), "[]\n");
}

}  // namespace
}  // namespace cloudtwin::vpn
