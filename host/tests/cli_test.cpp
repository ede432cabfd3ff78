#include "cloudtwin/host/cli.hpp"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "cloudtwin/core/error.hpp"
#include "fakes.hpp"

namespace cloudtwin::host {
namespace {

using namespace cloudtwin::host::testing;

struct CliCase {
  std::vector<std::string> args;
  int exit_code;
  std::string out_contains;
  std::string err_contains;
};

TEST(HostCli, Table) {
  const CliCase cases[] = {
      {{"--help"}, 0, "usage: cloudtwin", ""},
      {{"--help"}, 0, "[--mode nat|isolated|bridge:BR] [--mac-prefix XX:XX]", ""},
      {{"--version"}, 0, "cloudtwin 0.", ""},
      {{"--bogus"}, 2, "", "unknown command or option '--bogus'"},
  };
  for (const auto& c : cases) {
    std::ostringstream out, err;
    EXPECT_EQ(run_cli(c.args, out, err), c.exit_code) << c.args[0];
    EXPECT_NE(out.str().find(c.out_contains), std::string::npos) << out.str();
    EXPECT_NE(err.str().find(c.err_contains), std::string::npos) << err.str();
  }
}

TEST(HostConf, ParsesKnownKeysAndKeepsDefaults) {
  const auto c = parse_host_conf(
      "# comment\n[libvirt]\nuri = test:///default\n; other\ndomain_type=kvm\n[storage]\n"
      "images = /i\ninstances = /v\n[network]\nmac_prefix = 0a:bc\nnwfilter = none\nunknown = x\n");
  EXPECT_EQ(c.uri, "test:///default");
  EXPECT_EQ(c.settings.domain_type, "kvm");
  EXPECT_EQ(c.settings.images_dir, "/i");
  EXPECT_EQ(c.settings.instances_dir, "/v");
  EXPECT_EQ(c.settings.mac_prefix.to_string(), "0a:bc");
  EXPECT_EQ(c.settings.nwfilter, "");
  EXPECT_EQ(parse_host_conf("").settings.nwfilter, "clean-traffic");
  EXPECT_EQ(parse_host_conf("").uri, "qemu:///system");
  try {
    parse_host_conf("[libvirt]\nuri\n", "h.conf");
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_EQ(e.line(), 2U);
  }
  EXPECT_THROW(parse_host_conf("[network]\nmac_prefix = zz\n"), ParseError);
  EXPECT_THROW(parse_host_conf("[libvirt\n"), ParseError);
}

class CliFixture : public ::testing::Test {
 protected:
  FailCounter fail;
  FakeHypervisor hv{fail};
  FakeStorage storage{fail};
  std::map<std::string, std::string> files = {
      {"/etc/cloudtwin/host.conf", "[libvirt]\nuri = fake:///x\n[storage]\ninstances = /inst\n"},
      {"/t/web.tmpl",
       "NIC = [ NETWORK = lan ]\nCONTEXT = [ SSH_PUBLIC_KEY = \"$USER[SSH_PUBLIC_KEY]\" ]\n"},
      {"/t/web.yaml", "NIC: [{NETWORK: lan}]\nEC2: {AMI: ami-9, INSTANCETYPE: t3.nano}\n"},
      {"/t/bad.tmpl", "NIC = [ NETWORK = lan,\n  IP = nope ]\n"},
      {"/k.pub", "ssh-ed25519 AAAA me@host\n"}};
  FakeVpn vpn{fail};
  std::deque<std::optional<std::string>> terminal_input;
  std::vector<std::string> uris;
  CountingRandom random;  // shared by every run, like /dev/urandom
  CliEnv env;

  void SetUp() override {
    storage.dirs.insert("/inst");
    env.connect = [this](const std::string& uri) {
      uris.push_back(uri);
      return std::make_unique<HypervisorRef>(hv);
    };
    env.iso_writer = [this] { return std::make_unique<StorageRef>(storage); };
    env.storage = [this] { return std::make_unique<StorageRef>(storage); };
    env.random = [this] {
      struct RandomRef : Random {
        explicit RandomRef(Random& r) : r_(r) {}
        std::uint64_t next_u64() override { return r_.next_u64(); }
        Random& r_;
      };
      return std::make_unique<RandomRef>(random);
    };
    env.image_tool = [this] { return std::make_unique<FakeImageTool>(fail, storage); };
    env.vpn = [this](const std::string&) {
      struct VpnRef : VpnIssuer {
        explicit VpnRef(FakeVpn& v) : v_(v) {}
        std::string state_dir() override { return v_.state_dir(); }
        bool initialised() override { return v_.initialised(); }
        std::string issue(const std::string& i, const std::string& ip) override {
          return v_.issue(i, ip);
        }
        void revoke(const std::string& i) override { v_.revoke(i); }
        FakeVpn& v_;
      };
      return std::make_unique<VpnRef>(vpn);
    };
    env.terminal = [this] { return std::make_unique<ScriptedTerminal>(terminal_input); };
    env.read_file = [this](const std::string& path) -> std::optional<std::string> {
      const auto it = files.find(path);
      if (it == files.end()) return std::nullopt;
      return it->second;
    };
  }

  int run(std::vector<std::string> args, std::string* out_text = nullptr,
          std::string* err_text = nullptr) {
    std::ostringstream out, err;
    const int rc = run_cli(args, out, err, env);
    if (out_text != nullptr) *out_text = out.str();
    if (err_text != nullptr) *err_text = err.str();
    return rc;
  }
};

TEST_F(CliFixture, NetworkLifecycle) {
  std::string out, err;
  EXPECT_EQ(run({"net", "create", "lan", "--cidr", "10.0.0.0/24", "--dns", "1.1.1.1"}, &out), 0);
  EXPECT_EQ(out, "created network lan\n");
  EXPECT_EQ(uris, std::vector<std::string>{"fake:///x"});
  EXPECT_EQ(run({"--connect", "test:///default", "net", "list"}, &out), 0);
  EXPECT_EQ(uris.back(), "test:///default");
  EXPECT_EQ(out,
            "NAME  STATE   CIDR         GATEWAY   BRIDGE  VMS\n"
            "lan   active  10.0.0.0/24  10.0.0.1  ct-lan  0\n");
  EXPECT_EQ(run({"net", "show", "lan", "--json"}, &out), 0);
  EXPECT_EQ(
      out,
      R"({"name":"lan","active":true,"mode":"nat","dhcp":true,"cidr":"10.0.0.0/24","gateway":"10.0.0.1",)"
      R"("bridge":"ct-lan","mac-prefix":"02:00","dns":["1.1.1.1"],"vms":0,"reservations":[]})"
      "\n");
  EXPECT_EQ(run({"net", "show", "lan"}, &out), 0);
  EXPECT_NE(out.find("gateway:         10.0.0.1"), std::string::npos) << out;
  EXPECT_EQ(run({"net", "create", "lan", "--cidr", "10.1.0.0/24"}, &out, &err), 1);
  EXPECT_EQ(err, "cloudtwin: network 'lan' already exists\n");
  EXPECT_EQ(run({"net", "delete", "lan"}, &out), 0);
  EXPECT_EQ(run({"net", "list", "--json"}, &out), 0);
  EXPECT_EQ(out, "[]\n");
}

// --mac-prefix is recorded with the network; without it host.conf's is, so changing host.conf
// later leaves the network's MACs alone. A network that records none (made by an older
// cloudtwin) follows host.conf.
TEST_F(CliFixture, MacPrefixIsKeptWithTheNetwork) {
  std::string out, err;
  ASSERT_EQ(run({"net", "create", "a", "--cidr", "10.0.0.0/24", "--mac-prefix", "0A:01"}), 0);
  ASSERT_EQ(run({"net", "create", "b", "--cidr", "10.0.0.0/24", "--mode", "isolated"}), 0);
  EXPECT_NE(hv.nets.at("a").xml.find(R"(mac-prefix="0a:01"/>)"), std::string::npos);
  EXPECT_NE(hv.nets.at("b").xml.find(R"(mac-prefix="02:00"/>)"), std::string::npos);
  hv.define_network(
      "<network><name>old</name><bridge name='ct-old'/><ip address='10.0.0.1' prefix='24'>"
      "<dhcp>\n    </dhcp></ip></network>");
  hv.start_network("old");
  files["/etc/cloudtwin/host.conf"] += "[network]\nmac_prefix = 0e:00\n";
  EXPECT_EQ(run({"net", "list", "--json"}, &out), 0);
  EXPECT_NE(out.find(R"("name":"a",)"), std::string::npos);
  const std::pair<const char*, const char*> prefixes[] = {
      {"a", "0a:01"}, {"b", "02:00"}, {"old", "0e:00"}};
  for (const auto& [net, prefix] : prefixes) {
    EXPECT_NE(out.find(std::string(R"("bridge":"ct-)") + net + R"(","mac-prefix":")" + prefix),
              std::string::npos)
        << out;
  }
  EXPECT_EQ(run({"net", "show", "a"}, &out), 0);
  EXPECT_NE(out.find("mac prefix:      0a:01\n"), std::string::npos) << out;
  EXPECT_EQ(run({"net", "show", "old"}, &out), 0);
  EXPECT_NE(out.find("mac prefix:      0e:00 (host.conf's: the network records none)\n"),
            std::string::npos)
      << out;
  files["/t/three.tmpl"] =
      "NIC = [ NETWORK = a ]\nNIC = [ NETWORK = b ]\nNIC = [ NETWORK = old ]\n";
  ASSERT_EQ(run({"vm", "create", "/t/three.tmpl", "--name", "web"}, &out, &err), 0) << err;
  EXPECT_EQ(run({"vm", "show", "web"}, &out), 0);
  for (const char* line : {"eth0:         10.0.0.2/24 0a:01:0a:00:00:02 network a ",
                           "eth1:         10.0.0.2/24 02:00:0a:00:00:02 network b ",
                           "eth2:         10.0.0.2/24 0e:00:0a:00:00:02 network old "}) {
    EXPECT_NE(out.find(line), std::string::npos) << out;
  }
  EXPECT_EQ(run({"vm", "delete", "web"}, &out), 0);
  for (const char* net : {"a", "b", "old"}) EXPECT_TRUE(hv.nets.at(net).hosts.empty()) << net;
}

TEST_F(CliFixture, VmLifecycle) {
  std::string out, err;
  ASSERT_EQ(run({"net", "create", "lan", "--cidr", "10.0.0.0/24"}), 0);
  EXPECT_EQ(
      run({"vm", "create", "/t/web.tmpl", "--name", "web", "--ssh-key", "/k.pub"}, &out, &err), 0)
      << err;
  EXPECT_EQ(out, "created VM web (i-12222222222222222) 10.0.0.2@lan\n");
  const auto& iso = storage.isos.at("/inst/web/context.iso");
  EXPECT_NE(iso.at(0).content.find("SSH_PUBLIC_KEY='ssh-ed25519 AAAA me@host'"), std::string::npos);
  EXPECT_EQ(run({"vm", "create", "/t/web.yaml", "--json"}, &out, &err), 0) << err;
  EXPECT_EQ(
      out.rfind(
          R"({"name":"i-56666666666666666","state":"running","record":{"record-version":2,"instance-id":)"
          R"("i-56666666666666666","ami-id":"ami-9","instance-type":"t3.nano",)"
          R"("local-hostname":"i-56666666666666666")",
          0),
      0U)
      << out;
  EXPECT_EQ(run({"vm", "list"}, &out), 0);
  EXPECT_EQ(out,
            "NAME                 STATE    LOCATION   INSTANCE-ID          ADDRESSES\n"
            "i-56666666666666666  running  fake:///x  i-56666666666666666  10.0.0.3@lan\n"
            "web                  running  fake:///x  i-12222222222222222  10.0.0.2@lan\n");
  EXPECT_EQ(run({"vm", "show", "web"}, &out), 0);
  EXPECT_NE(out.find("eth0:         10.0.0.2/24 02:00:0a:00:00:02 network lan gateway 10.0.0.1"),
            std::string::npos)
      << out;
  EXPECT_EQ(run({"vm", "list", "--json"}, &out), 0);
  EXPECT_EQ(out.front(), '[');
  EXPECT_EQ(run({"net", "delete", "lan"}, &out, &err), 1);
  EXPECT_NE(err.find("used by 2 VM(s)"), std::string::npos);
  EXPECT_EQ(run({"vm", "delete", "web"}, &out), 0);
  EXPECT_EQ(out, "deleted VM web\n");
  EXPECT_EQ(run({"vm", "delete", "web"}, &out, &err), 1);
  EXPECT_EQ(err, "cloudtwin: no VM named 'web' (see cloudtwin vm list)\n");
}

TEST_F(CliFixture, ErrorsAndUsage) {
  const CliCase cases[] = {
      {{"net"}, 2, "", "net needs a subcommand"},
      {{"net", "frob"}, 2, "", "unknown net subcommand 'frob'"},
      {{"net", "create", "x"}, 2, "", "net create needs --cidr"},
      {{"net", "create", "x", "--cidr"}, 2, "", "option --cidr needs a value"},
      {{"net", "create", "x", "--cidr", "10.0.0.0/33"}, 1, "", "cloudtwin: "},
      {{"net", "create", "x", "--cidr", "10.0.0.0/24", "--mac-prefix"},
       2,
       "",
       "option --mac-prefix needs a value"},
      {{"net", "create", "x", "--cidr", "10.0.0.0/24", "--mac-prefix", "01:00"},
       1,
       "",
       "cloudtwin: --mac-prefix 01:00: the first byte 01 is a multicast (group) octet"},
      {{"net", "create", "x", "--cidr", "10.0.0.0/24", "--mac-prefix", "00:00"},
       1,
       "",
       "cloudtwin: --mac-prefix 00:00: the first byte 00 is not locally administered"},
      {{"net", "create", "x", "--cidr", "10.0.0.0/24", "--mac-prefix", "2:00"},
       1,
       "",
       "cloudtwin: --mac-prefix 2:00: MAC prefix"},
      {{"net", "show"}, 2, "", "expected exactly one network NAME"},
      {{"net", "show", "nope"}, 1, "", "no network named 'nope'"},
      {{"vm", "list", "--bogus"}, 2, "", "unknown option '--bogus'"},
      {{"vm", "create", "/t/missing.tmpl"}, 1, "", "template /t/missing.tmpl does not exist"},
      {{"vm", "create", "/t/bad.tmpl"},
       1,
       "",
       "/t/bad.tmpl:2:8: NIC/IP is not an IPv4 address: 'nope'"},
      {{"vm", "create", "/t/web.tmpl"}, 1, "", "network 'lan' does not exist"},
      {{"vm", "create", "/t/web.tmpl", "--ssh-key", "/none"},
       1,
       "",
       "--ssh-key /none does not exist"},
      {{"image", "frob"}, 2, "", "unknown image subcommand 'frob'"},
      {{"image", "show", "nope.qcow2"}, 1, "", "no image named 'nope.qcow2'"},
      {{"image", "show", "../x"}, 1, "", "image name '../x' must be"},
      {{"vm", "start"}, 2, "", "expected exactly one VM NAME"},
      {{"vm", "reboot", "x", "--force"}, 2, "", "--force applies to vm stop and vm console"},
      {{"vm", "stop", "nope"}, 1, "", "no VM named 'nope'"},
      {{"--connect"}, 2, "", "option --connect needs a value"},
  };
  for (const auto& c : cases) {
    std::string out, err;
    EXPECT_EQ(run(c.args, &out, &err), c.exit_code)
        << c.args[0] << " " << (c.args.size() > 1 ? c.args[1] : "");
    EXPECT_NE(err.find(c.err_contains), std::string::npos) << err;
  }
  files["/etc/cloudtwin/host.conf"] = "[network]\nmac_prefix = nonsense\n";
  std::string err;
  EXPECT_EQ(run({"net", "list"}, nullptr, &err), 1);
  EXPECT_NE(err.find("/etc/cloudtwin/host.conf:2:1"), std::string::npos) << err;
}

}  // namespace
}  // namespace cloudtwin::host
