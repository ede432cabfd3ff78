// `net create --mode bridge:BR`: the metadata-address plan as tables, the libvirt XML with our
// <metadata>, NetService over fakes with every step failing in turn, VMs on such a network,
// and the CLI's words for it.
#include <gtest/gtest.h>

#include <sstream>

#include "cloudtwin/core/context_sh.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/bridge_addresses.hpp"
#include "cloudtwin/host/cli.hpp"
#include "cloudtwin/host/net_service.hpp"
#include "cloudtwin/host/network_xml.hpp"
#include "cloudtwin/host/vm_service.hpp"
#include "fakes.hpp"

namespace cloudtwin::host {
namespace {

using testing::FailCounter;
using testing::FakeHypervisor;
using testing::FakeLinkAddresses;
using testing::FakeStorage;

const LinkAddress kV4{"169.254.169.254", 32};
const LinkAddress kV6{"fd00:ec2::254", 128};
const LinkAddress kLan{"192.168.1.5", 24};

AddressOp add(const LinkAddress& a) { return {AddressOpKind::Add, "br0", a}; }
AddressOp del(const LinkAddress& a) { return {AddressOpKind::Remove, "br0", a}; }

TEST(BridgeAddressPlan, AddsWhatIsMissingAndOwnsOnlyWhatIsCloudtwins) {
  struct Case {
    std::vector<LinkAddress> on_bridge;
    std::vector<LinkAddress> owned_by_others;
    std::vector<AddressOp> ops;
    std::vector<LinkAddress> owned;
  };
  const Case cases[] = {
      {{kLan}, {}, {add(kV4), add(kV6)}, {kV4, kV6}},
      {{kLan, kV4}, {}, {add(kV6)}, {kV6}},      // 169.254.169.254 was the admin's
      {{kV4, kV6}, {}, {}, {}},                  // nothing to do, nothing ours
      {{kV4, kV6}, {kV4, kV6}, {}, {kV4, kV6}},  // another network's: shared
      {{kV4, kV6}, {kV6}, {}, {kV6}},            // mixed
      {{kV4}, {kV6}, {add(kV6)}, {kV6}},         // ours but lost (a reboot)
      {{kLan, {"169.254.169.254", 16}}, {}, {add(kV4), add(kV6)}, {kV4, kV6}},  // other prefix
  };
  for (const auto& c : cases) {
    const auto plan = plan_bridge_addresses("br0", ObservedLink{"br0", true, c.on_bridge},
                                            metadata_link_addresses(), c.owned_by_others);
    EXPECT_EQ(plan.ops, c.ops);
    EXPECT_EQ(plan.owned, c.owned);
  }
}

TEST(BridgeAddressPlan, RemovesOwnedAddressesWhenTheLastNetworkGoes) {
  struct Case {
    std::optional<std::vector<LinkAddress>> on_bridge;  // nullopt: no such link
    std::vector<LinkAddress> owned;
    std::size_t others;
    std::vector<AddressOp> ops;
  };
  const Case cases[] = {
      {std::vector{kLan, kV4, kV6}, {kV4, kV6}, 0, {del(kV4), del(kV6)}},
      {std::vector{kLan, kV4, kV6}, {kV6}, 0, {del(kV6)}},  // never the admin's
      {std::vector{kLan, kV4, kV6}, {kV4, kV6}, 1, {}},     // still used by another network
      {std::vector{kLan, kV4}, {kV4, kV6}, 0, {del(kV4)}},  // already gone is fine
      {std::vector{kLan, kV4, kV6}, {}, 0, {}},
      {std::nullopt, {kV4, kV6}, 0, {}},  // the bridge itself is gone
  };
  for (const auto& c : cases) {
    std::optional<ObservedLink> link;
    if (c.on_bridge) link = ObservedLink{"br0", true, *c.on_bridge};
    EXPECT_EQ(plan_bridge_address_removal(link, c.owned, c.others), c.ops);
  }
}

TEST(BridgeAddressPlan, MissingLinkOrNotABridgeIsAClearError) {
  try {
    plan_bridge_addresses("br9", std::nullopt, metadata_link_addresses(), {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
    EXPECT_NE(std::string(e.what()).find("no link named 'br9'"), std::string::npos) << e.what();
  }
  try {
    plan_bridge_addresses("eth0", ObservedLink{"eth0", false, {}}, metadata_link_addresses(), {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("'eth0' is not a bridge"), std::string::npos);
  }
  EXPECT_EQ(add(kV6).to_string(), "add fd00:ec2::254/128 to br0");
  EXPECT_EQ(del(kV4).to_string(), "remove 169.254.169.254/32 from br0");
}

TEST(BridgeAddressPlan, RepairPutsBackOnlyOwnedAddressesTheBridgeLost) {
  struct Case {
    const char* name;
    std::vector<LinkAddress> on_bridge, owned;
    std::vector<AddressOp> ops;
  };
  const Case cases[] = {
      {"all there", {kV4, kLan, kV6}, {kV4, kV6}, {}},
      {"bridge recreated", {kLan}, {kV4, kV6}, {add(kV4), add(kV6)}},
      {"v4 flushed", {kLan, kV6}, {kV4, kV6}, {add(kV4)}},
      {"the admin's v4 is not ours to restore", {kLan, kV6}, {kV6}, {}},
      {"nothing owned", {kLan}, {}, {}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(plan_bridge_address_repair("br0", ObservedLink{"br0", true, c.on_bridge}, c.owned),
              c.ops)
        << c.name;
  }
  try {
    plan_bridge_address_repair("br0", std::nullopt, {kV4});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
    EXPECT_NE(std::string(e.what()).find("bridge 'br0' does not exist; create it again"),
              std::string::npos)
        << e.what();
  }
}

TEST(BridgeNetworkXml, GoldenAndRoundTrip) {
  auto s = make_network_spec("lan", "192.168.1.0/24", "192.168.1.254", "192.168.1.254,9.9.9.9",
                             "bridge:br0");
  EXPECT_EQ(s.mode, NetworkMode::Bridge);
  EXPECT_EQ(s.bridge, "br0");
  EXPECT_FALSE(s.dhcp());
  s.mac_prefix = core::MacPrefix::parse("02:01");
  s.owned_addresses = {kV6};
  EXPECT_EQ(render_network_xml(s), R"(<network>
  <name>lan</name>
  <metadata>
    <cloudtwin:network xmlns:cloudtwin="https://cloudtwin.example.invalid/network/1" cidr="192.168.1.0/24" gateway="192.168.1.254" mac-prefix="02:01">
      <cloudtwin:dns address="192.168.1.254"/>
      <cloudtwin:dns address="9.9.9.9"/>
      <cloudtwin:owned-address address="fd00:ec2::254" prefix="128"/>
    </cloudtwin:network>
  </metadata>
  <forward mode='bridge'/>
  <bridge name='br0'/>
</network>
)");
  EXPECT_EQ(parse_network_xml(render_network_xml(s)), s);
  s.mac_prefix.reset();
  s.dns.clear();
  s.owned_addresses.clear();
  EXPECT_EQ(parse_network_xml(render_network_xml(s)), s);
  // As libvirt gives it back: a uuid, another prefix for our namespace.
  const auto back = parse_network_xml(
      "<network><name>lan</name><uuid>c83f3e28-28ba-4413-a599-85117cd8493b</uuid><metadata>"
      "<ct:network xmlns:ct='https://cloudtwin.example.invalid/network/1' cidr='10.0.0.0/8' "
      "gateway='10.0.0.1'><ct:owned-address address='FD00:EC2:0::254' prefix='128'/>"
      "</ct:network></metadata><forward mode='bridge'/><bridge name='br0'/></network>");
  EXPECT_EQ(back.cidr.to_string(), "10.0.0.0/8");
  EXPECT_EQ(back.owned_addresses, std::vector<LinkAddress>{kV6});
}

TEST(BridgeNetworkXml, BadModesAndForeignOrDamagedMetadata) {
  for (const char* mode : {"bridge:", "bridge:a/b", "bridge:x:y", "bridge:sixteen-chars-br",
                           "bridge:a b", "bridge:..", "bridge", "macvtap:eth0"}) {
    EXPECT_THROW(make_network_spec("n", "10.0.0.0/24", "", "", mode), Error) << mode;
  }
  const auto head = std::string("<network><name>x</name>");
  const auto tail = std::string("<forward mode='bridge'/><bridge name='br0'/></network>");
  const auto md = [](const std::string& inner) {
    return "<metadata><c:network xmlns:c='https://cloudtwin.example.invalid/network/1' " + inner +
           "</c:network></metadata>";
  };
  const std::string bad[] = {
      head + tail,  // someone else's bridge network
      head + md("cidr='10.0.0.0/24'>") + tail,
      head + md("cidr='10.0.0.0/24' gateway='10.0.0.1' mac-prefix='zz'>") + tail,
      head + md("cidr='10.0.0.0/24' gateway='10.0.0.1'><c:dns address='x'/>") + tail,
      head +
          md("cidr='10.0.0.0/24' gateway='10.0.0.1'><c:owned-address address='fd00::1' "
             "prefix='129'/>") +
          tail,
      head +
          md("cidr='10.0.0.0/24' gateway='10.0.0.1'><c:owned-address address='1.2.3.4' "
             "prefix='-1'/>") +
          tail,
  };
  for (const auto& xml : bad) {
    try {
      parse_network_xml(xml);
      ADD_FAILURE() << xml;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("libvirt network 'x'"), std::string::npos) << e.what();
    }
  }
}

struct BridgeWorld {
  FailCounter fail;
  FakeHypervisor hv{fail};
  FakeStorage storage{fail};
  FakeLinkAddresses links{fail};
  testing::CountingRandom random;
  NetService nets{hv, &links};

  BridgeWorld() {
    links.add_link("br0", true, {kLan});
    links.add_link("eth0", false);
    storage.dirs.insert("/inst");
  }
  static NetworkSpec spec(const std::string& name = "lan") {
    auto s = make_network_spec(name, "192.168.1.0/24", "192.168.1.1", "9.9.9.9", "bridge:br0");
    s.mac_prefix = core::MacPrefix::parse("02:01");
    return s;
  }
  std::vector<LinkAddress> on_br0() { return links.links.at("br0").addresses; }
};

TEST(BridgeNetService, CreateShowDeleteLeavesTheBridgeAsItWas) {
  BridgeWorld w;
  w.nets.create(BridgeWorld::spec());
  EXPECT_EQ(w.on_br0(), (std::vector<LinkAddress>{kV4, kLan, kV6}));
  const auto shown = w.nets.show("lan");
  EXPECT_EQ(shown.spec.owned_addresses, (std::vector<LinkAddress>{kV4, kV6}));
  EXPECT_EQ(shown.addresses_on_bridge, (std::vector<LinkAddress>{kV4, kV6}));
  EXPECT_TRUE(shown.active);
  // A second network on br0 shares the addresses; the last one out removes them.
  w.nets.create(BridgeWorld::spec("lan2"));
  EXPECT_EQ(w.nets.show("lan2").spec.owned_addresses, (std::vector<LinkAddress>{kV4, kV6}));
  w.nets.remove("lan");
  EXPECT_EQ(w.on_br0(), (std::vector<LinkAddress>{kV4, kLan, kV6}));
  w.nets.remove("lan2");
  EXPECT_EQ(w.on_br0(), std::vector<LinkAddress>{kLan});
  EXPECT_TRUE(w.hv.nets.empty());

  // Addresses the admin put there stay after delete.
  w.links.links.at("br0").addresses = {kV4, kLan};
  w.nets.create(BridgeWorld::spec());
  EXPECT_EQ(w.nets.show("lan").spec.owned_addresses, std::vector<LinkAddress>{kV6});
  w.links.links.at("br0").addresses.erase(w.links.links.at("br0").addresses.begin());
  EXPECT_EQ(w.nets.show("lan").addresses_on_bridge, std::vector<LinkAddress>{kV6});  // v4 lost
  w.nets.remove("lan");
  EXPECT_EQ(w.on_br0(), std::vector<LinkAddress>{kLan});
}

TEST(BridgeNetService, RepairStartsTheNetworkAndRestoresLostAddressesOnce) {
  BridgeWorld w;
  w.nets.create(BridgeWorld::spec());
  EXPECT_TRUE(w.nets.repair("lan").empty());
  // The host rebooted: br0 was recreated with only its LAN address, the network is down.
  w.links.links.at("br0").addresses = {kLan};
  w.hv.destroy_network("lan");
  EXPECT_EQ(w.nets.repair("lan"),
            (std::vector<std::string>{"started network lan", "add 169.254.169.254/32 to br0",
                                      "add fd00:ec2::254/128 to br0"}));
  EXPECT_EQ(w.on_br0(), (std::vector<LinkAddress>{kV4, kLan, kV6}));
  EXPECT_TRUE(w.nets.show("lan").active);
  EXPECT_TRUE(w.nets.repair("lan").empty()) << "a second repair changes nothing";
  w.links.links.erase("br0");
  EXPECT_THROW(w.nets.repair("lan"), Error);
  EXPECT_THROW(w.nets.repair("nope"), Error);
}

TEST(BridgeNetService, MissingBridgeNotABridgeAndNoNetlink) {
  BridgeWorld w;
  auto s = BridgeWorld::spec();
  s.bridge = "br9";
  EXPECT_THROW(w.nets.create(s), Error);
  s.bridge = "eth0";
  EXPECT_THROW(w.nets.create(s), Error);
  NetService without(w.hv);
  EXPECT_THROW(without.create(BridgeWorld::spec()), Error);
  EXPECT_TRUE(w.hv.nets.empty());
  EXPECT_TRUE(w.links.applied.empty());
}

TEST(BridgeNetService, EveryFailingStepOfCreateAndDeleteLeavesNoTrace) {
  for (int n = 1;; ++n) {
    BridgeWorld w;
    w.fail.fail_at = n;
    bool failed = false;
    try {
      w.nets.create(BridgeWorld::spec());
    } catch (const Error& e) {
      failed = true;
      EXPECT_NE(std::string(e.what()).find("injected failure"), std::string::npos) << e.what();
    }
    if (!failed) {
      EXPECT_EQ(w.on_br0(), (std::vector<LinkAddress>{kV4, kLan, kV6}));
      break;
    }
    EXPECT_TRUE(w.hv.nets.empty()) << "step " << n;
    EXPECT_EQ(w.on_br0(), std::vector<LinkAddress>{kLan}) << "step " << n;
  }
  for (int n = 1;; ++n) {
    BridgeWorld w;
    w.nets.create(BridgeWorld::spec());
    w.fail.calls = 0;
    w.fail.fail_at = n;
    try {
      w.nets.remove("lan");
    } catch (const Error&) {
      w.fail.fail_at = 0;
      w.nets.remove("lan");  // running it again finishes the job
    }
    EXPECT_TRUE(w.hv.nets.empty()) << "step " << n;
    EXPECT_EQ(w.on_br0(), std::vector<LinkAddress>{kLan}) << "step " << n;
    if (w.fail.calls < n) break;
  }
}

TEST(BridgeVm, NoDhcpReservationDnsAndMacPrefixFromTheNetwork) {
  BridgeWorld w;
  w.nets.create(BridgeWorld::spec());
  HostSettings settings;
  settings.instances_dir = "/inst";
  VmService vms(w.hv, w.storage, w.storage, w.random, settings);
  const auto plan = vms.create(parse_vm_template("NIC = [ NETWORK = lan ]"), "vm1", "");
  EXPECT_EQ(plan.nics.at(0).ip.to_string(), "192.168.1.2");
  EXPECT_EQ(plan.nics.at(0).mac.to_string(), "02:01:c0:a8:01:02");
  const auto vars = core::parse_context_sh(w.storage.isos.at(plan.iso_path).at(0).content);
  EXPECT_EQ(vars.at("ETH0_DNS"), "9.9.9.9");
  EXPECT_EQ(vars.at("ETH0_GATEWAY"), "192.168.1.1");
  EXPECT_TRUE(w.hv.nets.at("lan").hosts.empty());
  // Leases still come from the VMs on the network.
  EXPECT_EQ(
      vms.create(parse_vm_template("NIC = [ NETWORK = lan ]"), "vm2", "").nics.at(0).ip.to_string(),
      "192.168.1.3");
  EXPECT_TRUE(vms.remove("vm1").empty());
  EXPECT_TRUE(vms.remove("vm2").empty());
  EXPECT_EQ(w.nets.show("lan").vm_count, 0U);
}

TEST(BridgeCli, CreateShowDeleteAndUsage) {
  BridgeWorld w;
  CliEnv env;
  env.connect = [&w](const std::string&) { return std::make_unique<testing::HypervisorRef>(w.hv); };
  env.link_addresses = [&w] { return std::make_unique<testing::LinkAddressesRef>(w.links); };
  env.read_file = [](const std::string& path) -> std::optional<std::string> {
    if (path == "/etc/cloudtwin/host.conf") return "[network]\nmac_prefix = 02:0a\n";
    return std::nullopt;
  };
  const auto run = [&env](std::vector<std::string> args, std::string* err = nullptr) {
    std::ostringstream out, e;
    const int rc = run_cli(args, out, e, env);
    if (err != nullptr) *err = e.str();
    return std::to_string(rc) + " " + out.str();
  };
  EXPECT_EQ(run({"net", "create", "lan", "--cidr", "192.168.1.0/24", "--mode", "bridge:br0"}),
            "0 created network lan\n");
  EXPECT_EQ(
      run({"net", "show", "lan", "--json"}),
      "0 {\"name\":\"lan\",\"active\":true,\"mode\":\"bridge\",\"dhcp\":false,\"cidr\":"
      "\"192.168.1.0/24\",\"gateway\":\"192.168.1.1\",\"bridge\":\"br0\",\"mac_prefix\":\"02:0a\","
      "\"dns\":[],\"vms\":0,"
      "\"reservations\":[]}\n");
  const auto shown = run({"net", "show", "lan"});
  EXPECT_NE(shown.find("mode:                bridge\n"), std::string::npos) << shown;
  EXPECT_NE(shown.find("bridge:              br0 (existing host bridge)\n"), std::string::npos);
  EXPECT_NE(shown.find("mac prefix:          02:0a\n"), std::string::npos) << shown;
  EXPECT_NE(shown.find("dhcp:                none (bridge mode runs no dnsmasq"),
            std::string::npos);
  EXPECT_NE(shown.find("metadata on bridge:  169.254.169.254/32 (added by cloudtwin), "
                       "fd00:ec2::254/128 (added by cloudtwin)"),
            std::string::npos)
      << shown;
  std::string err;
  EXPECT_EQ(run({"net", "create", "x", "--cidr", "10.0.0.0/24", "--mode", "bridge:br7"}, &err),
            "1 ");
  EXPECT_NE(err.find("no link named 'br7'"), std::string::npos) << err;
  EXPECT_EQ(run({"--connect", "qemu+ssh://h/system", "net", "create", "x", "--cidr", "10.0.0.0/24",
                 "--mode", "bridge:br0"},
                &err),
            "1 ");
  EXPECT_NE(err.find("is not local"), std::string::npos) << err;
  w.links.links.at("br0").addresses = {kLan};  // br0 recreated
  EXPECT_NE(run({"net", "show", "lan"})
                .find("169.254.169.254/32 (MISSING from the bridge: "
                      "cloudtwin net repair lan)"),
            std::string::npos);
  EXPECT_EQ(run({"net", "repair", "lan"}),
            "0 network lan: add 169.254.169.254/32 to br0\n"
            "network lan: add fd00:ec2::254/128 to br0\n");
  EXPECT_EQ(run({"net", "repair", "lan"}), "0 network lan: nothing to repair\n");
  EXPECT_EQ(run({"net", "delete", "lan"}), "0 deleted network lan\n");
  EXPECT_EQ(w.on_br0(), std::vector<LinkAddress>{kLan});
  EXPECT_NE(run({"--help"}).find("[--mode nat|isolated|bridge:BR]"), std::string::npos);
}

}  // namespace
}  // namespace cloudtwin::host
