// VmService / NetService against the fakes: the happy path, then every mutating step of
// `vm create` failing in turn, each time leaving the world exactly as it was.
#include "cloudtwin/host/vm_service.hpp"
#include "cloudtwin/host/net_service.hpp"

#include <gtest/gtest.h>

#include "cloudtwin/core/context_sh.hpp"
#include "fakes.hpp"

namespace cloudtwin::host {
namespace {

using testing::CountingRandom;
using testing::FailCounter;
using testing::FakeHypervisor;
using testing::FakeStorage;

constexpr const char* kTemplate = R"(
NAME = web
DISK = [ IMAGE = "base.qcow2" ]
NIC = [ NETWORK = "lan" ]
NIC = [ NETWORK = "lan" ]
CONTEXT = [ TOKEN = "YES", FILES = "/srv/init.sh" ]
)";

struct World {
  FailCounter fail;
  FakeHypervisor hv{fail};
  FakeStorage storage{fail};
  CountingRandom random;
  HostSettings settings = instance_settings();
  VmService vms{hv, storage, storage, random, settings};
  NetService nets{hv};

  static HostSettings instance_settings() {
    HostSettings s;
    s.instances_dir = "/inst";
    return s;
  }

  World() {
    nets.create(make_network_spec("lan", "10.0.0.0/24", "", "", "nat"));
    storage.dirs.insert("/inst");
  }
};

TEST(VmService, CreateListShowDelete) {
  World w;
  const auto plan = w.vms.create(parse_vm_template(kTemplate), "", "ssh-ed25519 K");
  EXPECT_EQ(plan.name, "web");
  EXPECT_EQ(plan.nics.at(0).ip.to_string(), "10.0.0.2");
  EXPECT_EQ(plan.nics.at(1).ip.to_string(), "10.0.0.3");
  EXPECT_TRUE(w.hv.doms.at("web").active);
  EXPECT_EQ(w.hv.nets.at("lan").hosts,
            (std::vector<std::string>{"<host mac='02:00:0a:00:00:02' name='web' ip='10.0.0.2'/>",
                                      "<host mac='02:00:0a:00:00:03' name='web' ip='10.0.0.3'/>"}));
  EXPECT_EQ(w.storage.files.at("/inst/web/disk0.qcow2"),
            "overlay of /var/lib/cloudtwin/images/base.qcow2");
  const auto& iso = w.storage.isos.at("/inst/web/context.iso");
  ASSERT_EQ(iso.size(), 2U);
  EXPECT_EQ(iso[0].name, "context.sh");
  const auto vars = core::parse_context_sh(iso[0].content);
  EXPECT_EQ(vars.at("ETH1_IP"), "10.0.0.3");
  EXPECT_EQ(vars.at("TOKEN"), "YES");
  EXPECT_EQ(iso[1].name, "init.sh");
  EXPECT_EQ(iso[1].host_path, "/srv/init.sh");
  EXPECT_EQ(w.storage.locks_held, 0);

  // A second VM gets the next addresses, derived from the first VM's record.
  const auto second = w.vms.create(parse_vm_template(kTemplate), "web2", "");
  EXPECT_EQ(second.nics.at(0).ip.to_string(), "10.0.0.4");
  EXPECT_THROW(w.vms.create(parse_vm_template(kTemplate), "web2", ""), Error);

  const auto list = w.vms.list();
  ASSERT_EQ(list.size(), 2U);
  ASSERT_TRUE(list[0].record);
  EXPECT_EQ(list[0].record->instance_id(), plan.instance_id);
  EXPECT_EQ(w.nets.show("lan").vm_count, 2U);
  EXPECT_THROW(w.nets.remove("lan"), Error);

  EXPECT_TRUE(w.vms.remove("web").empty());
  EXPECT_TRUE(w.vms.remove("web2").empty());
  EXPECT_TRUE(w.hv.doms.empty());
  EXPECT_TRUE(w.hv.nets.at("lan").hosts.empty());
  EXPECT_TRUE(w.storage.files.empty());
  EXPECT_EQ(w.storage.dirs, std::set<std::string>{"/inst"});
  EXPECT_THROW(w.vms.show("web"), Error);
  w.nets.remove("lan");
  EXPECT_TRUE(w.hv.nets.empty());
}

TEST(VmService, EveryFailingStepRollsBackCompletely) {
  // Count the mutating calls of a successful create first.
  int total = 0;
  {
    World w;
    w.fail.calls = 0;
    w.vms.create(parse_vm_template(kTemplate), "", "");
    total = w.fail.calls;
  }
  ASSERT_EQ(total, 7);  // dir, ISO, overlay, 2 DHCP hosts, define, start
  for (int n = 1; n <= total; ++n) {
    World w;
    w.fail.calls = 0;
    w.fail.fail_at = n;
    try {
      w.vms.create(parse_vm_template(kTemplate), "", "");
      ADD_FAILURE() << "no failure at step " << n;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("injected failure at call " + std::to_string(n)),
                std::string::npos);
    }
    EXPECT_TRUE(w.hv.doms.empty()) << "step " << n;
    EXPECT_TRUE(w.hv.nets.at("lan").hosts.empty()) << "step " << n;
    EXPECT_TRUE(w.storage.files.empty()) << "step " << n;
    EXPECT_EQ(w.storage.dirs, std::set<std::string>{"/inst"}) << "step " << n;
    EXPECT_EQ(w.storage.locks_held, 0);
    // And the world still works afterwards.
    w.fail.fail_at = 0;
    EXPECT_EQ(w.vms.create(parse_vm_template(kTemplate), "", "").nics.at(0).ip.to_string(),
              "10.0.0.2");
  }
}

TEST(VmService, PlanErrorsTouchNothing) {
  World w;
  w.fail.calls = 0;
  EXPECT_THROW(w.vms.create(parse_vm_template("NIC = [ NETWORK = nope ]"), "x", ""), Error);
  EXPECT_THROW(w.vms.create(parse_vm_template("NIC = [ NETWORK = lan, IP = 10.0.0.1 ]"), "x", ""),
               Error);
  EXPECT_EQ(w.fail.calls, 0);
}

// The DHCP reservation, the domain's <mac> (which clean-traffic binds to the NIC) and ETHn_MAC
// all use the NIC's own network's prefix; a network that records none gets host.conf's.
TEST(VmService, NicsUseTheirNetworksMacPrefix) {
  World w;  // "lan": 10.0.0.0/24, no recorded prefix
  w.settings.mac_prefix = core::MacPrefix::parse("06:00");
  VmService vms{w.hv, w.storage, w.storage, w.random, w.settings};
  w.nets.create(make_network_spec("a", "10.0.0.0/24", "", "", "nat", "0a:01"));
  w.nets.create(make_network_spec("b", "10.0.0.0/16", "", "", "isolated", "0a:02"));
  const auto plan = vms.create(
      parse_vm_template("NIC = [ NETWORK = a ]\nNIC = [ NETWORK = b ]\nNIC = [ NETWORK = lan ]"),
      "web", "");
  const std::pair<const char*, const char*> expected[] = {
      {"a", "0a:01:0a:00:00:02"}, {"b", "0a:02:0a:00:00:02"}, {"lan", "06:00:0a:00:00:02"}};
  const auto vars = core::parse_context_sh(w.storage.isos.at(plan.iso_path).at(0).content);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& [net, mac] = expected[i];
    EXPECT_EQ(w.hv.nets.at(net).hosts, std::vector<std::string>{std::string("<host mac='") + mac +
                                                                "' name='web' ip='10.0.0.2'/>"});
    EXPECT_EQ(vars.at("ETH" + std::to_string(i) + "_MAC"), mac);
    EXPECT_NE(w.hv.doms.at("web").xml.find(std::string("<mac address='") + mac + "'/>"),
              std::string::npos);
  }
  EXPECT_TRUE(vms.remove("web").empty());
  for (const char* net : {"a", "b", "lan"}) EXPECT_TRUE(w.hv.nets.at(net).hosts.empty()) << net;
}

TEST(NetService, CreateFailsCleanlyAndRefusesDuplicates) {
  World w;
  EXPECT_THROW(w.nets.create(make_network_spec("lan", "10.1.0.0/24", "", "", "nat")), Error);
  w.fail.calls = 0;
  w.fail.fail_at = 2;  // start_network
  EXPECT_THROW(w.nets.create(make_network_spec("wan", "10.1.0.0/24", "", "", "nat")), Error);
  EXPECT_EQ(w.hv.nets.count("wan"), 0U);
  const auto list = w.nets.list();
  ASSERT_EQ(list.size(), 1U);
  EXPECT_EQ(list[0].spec.cidr.to_string(), "10.0.0.0/24");
  EXPECT_TRUE(list[0].active);
}

}  // namespace
}  // namespace cloudtwin::host
