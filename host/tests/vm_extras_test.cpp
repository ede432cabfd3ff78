// vm create options beyond the basics: VPN = YES, NoCloud seed, console log, power, and the
// template keys that ask for them.
#include <gtest/gtest.h>

#include "cloudtwin/core/context_sh.hpp"
#include "cloudtwin/core/user_data.hpp"
#include "cloudtwin/host/domain_xml.hpp"
#include "cloudtwin/host/net_service.hpp"
#include "cloudtwin/host/nocloud.hpp"
#include "cloudtwin/host/vm_service.hpp"
#include "fakes.hpp"

namespace cloudtwin::host {
namespace {

using namespace cloudtwin::host::testing;

struct World {
  FailCounter fail;
  FakeHypervisor hv{fail};
  FakeStorage storage{fail};
  FakeVpn vpn{fail};
  CountingRandom random;
  VmService vms{hv, storage, storage, random, settings(), &vpn};
  static HostSettings settings() {
    HostSettings s;
    s.instances_dir = "/inst";
    return s;
  }
  World() {
    NetService(hv).create(make_network_spec("lan", "10.0.0.0/24", "", "", "nat"));
    storage.dirs.insert("/inst");
  }
};

constexpr const char* kAll = R"(
NAME = web
CONSOLE_LOG = YES
NIC = [ NETWORK = "lan" ]
CONTEXT = [ VPN = "YES", NOCLOUD = yes, USER_DATA = "#cloud-config
hostname: x", SSH_PUBLIC_KEY = "ssh-ed25519 K me" ]
)";

TEST(TemplateSwitches, ParseBothSyntaxesAndStayOutOfContext) {
  const auto t = parse_vm_template(kAll);
  EXPECT_TRUE(t.vpn);
  EXPECT_TRUE(t.nocloud);
  EXPECT_EQ(t.console_log, "YES");
  for (const auto& [k, v] : t.context) EXPECT_TRUE(k != "VPN" && k != "NOCLOUD") << k;
  const auto y = parse_vm_template_yaml(
      "NOCLOUD: true\nVPN: no\nCONSOLE_LOG: /var/log/x.log\nNIC: [{NETWORK: lan}]\n");
  EXPECT_TRUE(y.nocloud);
  EXPECT_FALSE(y.vpn);
  EXPECT_EQ(y.console_log, "/var/log/x.log");
  EXPECT_EQ(parse_vm_template("CONSOLE_LOG = no").console_log, "");
  const struct {
    std::string text, message;
  } bad[] = {
      {"CONTEXT = [ VPN = maybe ]", "t:1:19: CONTEXT/VPN must be YES or NO, got 'maybe'"},
      {"NOCLOUD = [ A = 1 ]", "t:1:1: NOCLOUD takes a single value"},
      {"CONSOLE_LOG = rel/x.log", "t:1:1: CONSOLE_LOG must be YES, NO or an absolute path"},
      {"OS = [ KERNEL = /k, KERNEL_CMD = \"a\nb\" ]", "t:1:34: OS/KERNEL_CMD has a control"},
  };
  for (const auto& b : bad) {
    try {
      parse_vm_template(b.text, "t");
      ADD_FAILURE() << b.text;
    } catch (const ParseError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(b.message, 0), 0U) << e.what();
    }
  }
}

TEST(VmExtras, VpnNoCloudAndConsoleLogEndToEnd) {
  World w;
  const auto plan = w.vms.create(parse_vm_template(kAll), "", "");
  // VPN: CN = instance id, fixed address = the LAN lease; the profile is in the context.
  EXPECT_EQ(w.vpn.issued, (std::map<std::string, std::string>{{plan.instance_id, "10.0.0.2"}}));
  const auto& cd = w.storage.isos.at("/inst/web/context.iso");
  const auto vars = core::parse_context_sh(cd.at(0).content);
  EXPECT_EQ(core::base64_decode(vars.at("VPN_PROFILE_BASE64")),
            "client\n# profile for " + plan.instance_id + "\n");
  EXPECT_EQ(vars.count("VPN"), 0U);
  EXPECT_EQ(vars.count("NOCLOUD"), 0U);
  // NoCloud seed on a second CD labelled cidata.
  EXPECT_EQ(w.storage.files.at("/inst/web/cidata.iso"), "iso cidata");
  const auto& seed = w.storage.isos.at("/inst/web/cidata.iso");
  ASSERT_EQ(seed.size(), 3U);
  EXPECT_EQ(seed[0].name, "meta-data");
  EXPECT_EQ(seed[0].content,
            "instance-id: \"" + plan.instance_id +
                "\"\nlocal-hostname: \"web\"\npublic-keys:\n  - \"ssh-ed25519 K me\"\n");
  EXPECT_EQ(seed[1].name, "user-data");
  EXPECT_EQ(seed[1].content, "#cloud-config\nhostname: x");
  EXPECT_EQ(seed[2].name, "network-config");
  EXPECT_EQ(
      seed[2].content,
      "version: 2\nethernets:\n  eth0:\n    match:\n      macaddress: \"02:00:0a:00:00:02\"\n"
      "    addresses:\n      - \"10.0.0.2/24\"\n    routes:\n      - to: \"0.0.0.0/0\"\n"
      "        via: \"10.0.0.1\"\n    nameservers:\n      addresses:\n        - \"10.0.0.1\"\n");
  const auto& xml = w.hv.doms.at("web").xml;
  EXPECT_NE(xml.find("<source file='/inst/web/cidata.iso'/>\n      <target dev='hdb' bus='ide'/>"),
            std::string::npos);
  EXPECT_NE(xml.find("<serial type='pty'>\n      <log file='/inst/web/console.log' append='on'/>"),
            std::string::npos);
  const auto record = w.vms.show("web").record;
  ASSERT_TRUE(record);
  EXPECT_TRUE(record->host.vpn);
  EXPECT_EQ(record->host.cidata_iso, "/inst/web/cidata.iso");
  EXPECT_EQ(record->host.console_log, "/inst/web/console.log");
  EXPECT_TRUE(record->host.console_log_owned);

  // What libvirt/virtlogd would have written; delete removes it with the rotated copies.
  w.storage.files["/inst/web/console.log"] = "log";
  w.storage.files["/inst/web/console.log.0"] = "older log";
  EXPECT_TRUE(w.vms.remove("web").empty());
  EXPECT_EQ(w.vpn.revoked, std::vector<std::string>{plan.instance_id});
  EXPECT_TRUE(w.storage.files.empty());
  EXPECT_EQ(w.storage.dirs, std::set<std::string>{"/inst"});
}

// CONTEXT_CD = NO: no context CD at all, as on EC2 (context comes from the metadata service).
TEST(VmExtras, NoContextCdAsOnEc2) {
  World w;
  const auto t = parse_vm_template("NAME = bare\nCONTEXT_CD = NO\nNIC = [ NETWORK = lan ]\n");
  EXPECT_FALSE(t.context_cd);
  EXPECT_TRUE(parse_vm_template("NIC = [ NETWORK = lan ]").context_cd);
  EXPECT_FALSE(parse_vm_template_yaml("CONTEXT_CD: no\nNIC: [{NETWORK: lan}]\n").context_cd);
  w.vms.create(t, "", "");
  EXPECT_TRUE(w.storage.isos.empty());
  const auto& xml = w.hv.doms.at("bare").xml;
  EXPECT_EQ(xml.find("device='cdrom'"), std::string::npos) << xml;
  const auto record = w.vms.show("bare").record;
  ASSERT_TRUE(record);
  EXPECT_EQ(record->host.context_iso, "");
  EXPECT_TRUE(w.vms.remove("bare").empty());
  EXPECT_TRUE(w.storage.files.empty());
  EXPECT_EQ(w.storage.dirs, std::set<std::string>{"/inst"});
}

TEST(VmExtras, EveryFailingStepRollsBackIncludingTheVpnProfile) {
  int total = 0;
  {
    World w;
    w.fail.calls = 0;
    w.vms.create(parse_vm_template(kAll), "", "");
    total = w.fail.calls;
  }
  ASSERT_EQ(total, 7);  // vpn issue, dir, context ISO, cidata ISO, DHCP host, define, start
  for (int n = 1; n <= total; ++n) {
    World w;
    w.fail.calls = 0;
    w.fail.fail_at = n;
    EXPECT_THROW(w.vms.create(parse_vm_template(kAll), "", ""), Error) << n;
    EXPECT_TRUE(w.vpn.issued.empty()) << "step " << n;
    EXPECT_TRUE(w.hv.doms.empty()) << "step " << n;
    EXPECT_TRUE(w.hv.nets.at("lan").hosts.empty()) << "step " << n;
    EXPECT_TRUE(w.storage.files.empty()) << "step " << n;
    EXPECT_EQ(w.storage.dirs, std::set<std::string>{"/inst"}) << "step " << n;
  }
}

TEST(VmExtras, VpnNotInitialisedIsAClearErrorThatTouchesNothing) {
  World w;
  w.vpn.ready = false;
  w.fail.calls = 0;
  try {
    w.vms.create(parse_vm_template(kAll), "", "");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "the template asks for VPN = YES but the VPN in /vpn is not initialised; run "
              "`cloudtwin vpn init` first (or set [vpn] state_dir in host.conf)");
  }
  EXPECT_EQ(w.fail.calls, 0);
  // Without a VPN seam at all, the same refusal names the configured dir.
  VmService no_vpn(w.hv, w.storage, w.storage, w.random, World::settings());
  EXPECT_THROW(no_vpn.create(parse_vm_template(kAll), "", ""), Error);
  EXPECT_THROW(w.vms.create(parse_vm_template("CONTEXT = [ VPN = YES ]"), "x", ""), Error);
}

TEST(VmExtras, DeleteWarnsWhenTheProfileIsAlreadyRevoked) {
  World w;
  const auto plan = w.vms.create(parse_vm_template(kAll), "", "");
  w.vpn.issued.clear();  // revoked by hand meanwhile
  const auto warnings = w.vms.remove("web");
  ASSERT_EQ(warnings.size(), 1U);
  EXPECT_EQ(warnings[0], "VM " + plan.instance_id + " has no profile");
  EXPECT_TRUE(w.hv.doms.empty());
}

TEST(VmExtras, PowerAndConsole) {
  World w;
  w.vms.create(parse_vm_template("NIC = [ NETWORK = lan ]\nCONSOLE_LOG = /tmp/x.log"), "a", "");
  EXPECT_FALSE(w.vms.start("a"));
  EXPECT_TRUE(w.vms.stop("a", false));
  EXPECT_FALSE(w.hv.doms.at("a").active);
  EXPECT_FALSE(w.vms.stop("a", true));
  EXPECT_THROW(w.vms.reboot("a"), Error);
  EXPECT_THROW(w.vms.console("a", false), Error);
  EXPECT_TRUE(w.vms.start("a"));
  w.vms.reboot("a");
  EXPECT_EQ(w.hv.reboots.at("a"), 1);
  EXPECT_TRUE(w.vms.stop("a", true));
  EXPECT_TRUE(w.vms.start("a"));
  EXPECT_NE(w.vms.console("a", true), nullptr);
  EXPECT_EQ(w.hv.consoles_forced, std::vector<bool>{true});
  EXPECT_THROW(w.vms.start("nope"), Error);
  // A log outside the instance dir belongs to the user: delete leaves it.
  w.storage.files["/tmp/x.log"] = "log";
  EXPECT_TRUE(w.vms.remove("a").empty());
  EXPECT_EQ(w.storage.files.count("/tmp/x.log"), 1U);
}

TEST(NoCloud, NetworkNoAndNoUserData) {
  VmPlan p;
  p.record.ec2.instance_id = "i-1";
  p.record.ec2.local_hostname = p.record.ec2.hostname = "h";
  p.context = {{"NETWORK", "NO"}};
  const auto seed = render_nocloud(p);
  EXPECT_EQ(seed,
            (NoCloudSeed{"instance-id: \"i-1\"\nlocal-hostname: \"h\"\n", "#cloud-config\n", ""}));
}

TEST(KernelCmdline, PassesThroughExactly) {
  const struct {
    std::string root, cmd, expected;
  } cases[] = {
      {"", "console=ttyS0  quiet init=/bin/sh -- \"a b\" x=<&>'",
       "console=ttyS0  quiet init=/bin/sh -- \"a b\" x=<&>'"},
      {"vda1", "console=ttyS0", "root=/dev/vda1 console=ttyS0"},
      {"/dev/sda", "", "root=/dev/sda"},
      {"vda1", "root=LABEL=x ro", "root=LABEL=x ro"},
      {"vda1", "console=ttyS0 root=/dev/vdb", "console=ttyS0 root=/dev/vdb"},
      {"vda1", "noroot=1", "root=/dev/vda1 noroot=1"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(kernel_cmdline(OsSpec{"/k", "", c.root, c.cmd, ""}), c.expected) << c.cmd;
  }
}

}  // namespace
}  // namespace cloudtwin::host
