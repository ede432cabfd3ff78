// The Host interface: capacity arithmetic as tables, and LibvirtHost over the fakes
// (create, state, capacity, remove; every mutating step of create failing in turn).
#include "cloudtwin/host/host.hpp"

#include <gtest/gtest.h>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/host_conf.hpp"
#include "cloudtwin/host/libvirt_host.hpp"
#include "cloudtwin/host/net_service.hpp"
#include "fakes.hpp"

namespace cloudtwin::host {
namespace {

using namespace cloudtwin::host::testing;

TEST(HostCapacity, Fits) {
  struct Case {
    Capacity c;
    unsigned vcpu;
    std::uint64_t mib;
    bool fits;
  };
  const Case cases[] = {
      {{"local", 0, 0, 0, 0, {}}, 64, 1 << 20, true},  // no caps
      {{"local", 2, 4, 1024, 2048, {}}, 2, 1024, true},
      {{"local", 2, 4, 1024, 2048, {}}, 3, 1024, false},
      {{"local", 2, 4, 1024, 2048, {}}, 2, 1025, false},
      {{"local", 4, 4, 0, 2048, {}}, 1, 0, false},
      {{"local", 4, 0, 0, 2048, {}}, 1, 2048, true},  // vCPU uncapped
      {{"local", 0, 4, 0, 0, {}}, 5, 1, false},
      {{"local", 1, 4, 0, 0, {}}, 0xffffffffU, 1, false},  // no wrap-around
  };
  for (const auto& c : cases) EXPECT_EQ(fits(c.c, c.vcpu, c.mib), c.fits) << c.vcpu << " " << c.mib;
}

TEST(HostCapacity, StateWords) {
  const std::pair<VmState, std::string_view> cases[] = {
      {VmState::Pending, "pending"},       {VmState::Running, "running"},
      {VmState::Stopping, "stopping"},     {VmState::Stopped, "shut off"},
      {VmState::Terminated, "terminated"}, {VmState::Unknown, "unknown"}};
  for (const auto& [state, word] : cases) EXPECT_EQ(to_string(state), word);
}

TEST(HostCapacity, LibvirtCountsCloudtwinDomainsAgainstCapsOrNode) {
  const std::vector<DomainInfo> domains = {
      {"a", true, "<record/>", 2, 1024},
      {"b", false, "<record/>", 1, 512},       // stopped: keeps its claim
      {"other", true, std::nullopt, 8, 8192},  // not cloudtwin's
  };
  int node_reads = 0;
  const auto node = [&] {
    ++node_reads;
    return NodeInfo{16, 32768};
  };
  struct Case {
    CapacityCaps caps;
    Capacity want;
    int node_reads;
  };
  const Case cases[] = {
      {{}, {"local", 3, 16, 1536, 32768, {}}, 1},
      {{4, 0}, {"local", 3, 4, 1536, 32768, {}}, 1},
      {{0, 2048}, {"local", 3, 16, 1536, 2048, {}}, 1},
      {{4, 2048}, {"local", 3, 4, 1536, 2048, {}}, 0},  // both capped: node not asked
  };
  for (const auto& c : cases) {
    node_reads = 0;
    EXPECT_EQ(libvirt_capacity("local", domains, c.caps, node), c.want);
    EXPECT_EQ(node_reads, c.node_reads);
  }
}

TEST(HostCapacity, HostConfCapacitySection) {
  const auto c = parse_host_conf("[capacity]\nvcpu = 6\nmemory_mib = 12288\n");
  EXPECT_EQ(c.capacity, (CapacityCaps{6, 12288}));
  EXPECT_EQ(c.sections, (std::set<std::string>{"capacity"}));
  EXPECT_EQ(parse_host_conf("").capacity, CapacityCaps{});
  for (const auto* bad : {"[capacity]\nvcpu = 0\n", "[capacity]\nvcpu = x\n",
                          "[capacity]\nmemory_mib = -1\n", "[capacity]\nvcpu = 5000\n"}) {
    try {
      parse_host_conf(bad, "h.conf");
      ADD_FAILURE() << bad;
    } catch (const ParseError& e) {
      EXPECT_EQ(e.line(), 2U) << bad;
      EXPECT_NE(std::string(e.what()).find("[capacity] "), std::string::npos) << e.what();
    }
  }
}

TEST(HostTemplate, Ec2KeysForTheEc2Host) {
  const auto t = parse_vm_template(
      "EC2 = [ AMI = ami-1, ELASTICIP = yes, AUTHORIZED_PORTS = \"22, 8000-8080\",\n"
      "  SUBNET = subnet-9 ]\nREQUIREMENTS = 'NAME = \"ec2\"'\n",
      "web.tmpl");
  ASSERT_TRUE(t.ec2);
  EXPECT_EQ(t.ec2->elastic_ip, "YES");
  EXPECT_EQ(t.ec2->authorized_ports, (std::vector<PortRange>{{22, 22}, {8000, 8080}}));
  EXPECT_EQ(t.ec2->subnet, "subnet-9");
  EXPECT_EQ(t.requirements_host, "ec2");
  EXPECT_EQ(parse_vm_template("EC2 = [ ELASTICIP = \"203.0.113.7\" ]\n").ec2->elastic_ip,
            "203.0.113.7");
  EXPECT_EQ(parse_vm_template("REQUIREMENTS = \"HOSTNAME = local\"\n").requirements_host, "local");
  const std::pair<const char*, const char*> bad[] = {
      {"EC2 = [ AMI = a,\n  ELASTICIP = \"203.0.113\" ]\n", "web.tmpl:2:15: EC2/ELASTICIP"},
      {"EC2 = [ AUTHORIZED_PORTS = \"22,0\" ]\n", "web.tmpl:1:28: EC2/AUTHORIZED_PORTS"},
      {"EC2 = [ AUTHORIZED_PORTS = \"90-80\" ]\n", "ends before it starts"},
      {"REQUIREMENTS = 'CPU > 2'\n", "web.tmpl:1:1: REQUIREMENTS supports one expression"},
      {"REQUIREMENTS = 'NAME = \"ec2\"\n", "unterminated string"},
  };
  for (const auto& [text, where] : bad) {
    try {
      parse_vm_template(text, "web.tmpl");
      ADD_FAILURE() << text;
    } catch (const ParseError& e) {
      EXPECT_NE(std::string(e.what()).find(where), std::string::npos) << e.what();
    }
  }
}

struct LocalWorld {
  FailCounter fail;
  FakeHypervisor hv{fail};
  FakeStorage storage{fail};
  FakeVpn vpn{fail};
  std::unique_ptr<LibvirtHost> host;

  explicit LocalWorld(CapacityCaps caps = {}) {
    NetService(hv).create(make_network_spec("lan", "10.0.0.0/24", "", "", "nat"));
    storage.dirs.insert("/inst");
    LibvirtAdapters a;
    a.hypervisor = std::make_unique<HypervisorRef>(hv);
    a.iso = std::make_unique<StorageRef>(storage);
    a.storage = std::make_unique<StorageRef>(storage);
    a.random = std::make_unique<CountingRandom>();
    HostSettings s;
    s.instances_dir = "/inst";
    host = std::make_unique<LibvirtHost>("local", std::move(a), s, caps);
  }
};

constexpr const char* kWeb = "NAME = web\nVCPU = 2\nMEMORY = 768\nNIC = [ NETWORK = lan ]\n";

TEST(LibvirtHost, LifecycleThroughTheInterface) {
  LocalWorld w({8, 0});
  Host& h = *w.host;
  EXPECT_EQ(h.name(), "local");
  EXPECT_EQ(h.kind(), "libvirt");
  const auto vm = h.create(parse_vm_template(kWeb), {"", "", ""});
  EXPECT_EQ(vm.name, "web");
  EXPECT_EQ(vm.state, VmState::Running);
  ASSERT_TRUE(vm.record);
  EXPECT_EQ(vm.record->nics().at(0).ip.to_string(), "10.0.0.2");
  EXPECT_EQ(h.state("web"), VmState::Running);
  EXPECT_EQ(h.capacity(), (Capacity{"local", 2, 8, 768, 8192, {}}));
  EXPECT_TRUE(h.stop("web", true));
  EXPECT_EQ(h.state("web"), VmState::Stopped);
  EXPECT_EQ(h.capacity().vcpu_used, 2U);  // a stopped VM keeps its claim
  EXPECT_FALSE(h.stop("web", false));
  EXPECT_TRUE(h.start("web"));
  h.reboot("web");
  EXPECT_EQ(w.hv.reboots.at("web"), 1);
  EXPECT_EQ(h.list().size(), 1U);
  EXPECT_TRUE(h.remove("web").empty());
  EXPECT_TRUE(h.list().empty());
  EXPECT_EQ(h.capacity().vcpu_used, 0U);
  try {
    h.state("web");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
  }
}

TEST(LibvirtHost, CreateFailingAtEveryStepLeavesNothing) {
  int steps = 0;
  {
    LocalWorld w;
    const int before = w.fail.calls;
    w.host->create(parse_vm_template(kWeb), {"", "", ""});
    steps = w.fail.calls - before;
  }
  ASSERT_GT(steps, 3);
  for (int n = 1; n <= steps; ++n) {
    LocalWorld w;
    w.fail.fail_at = w.fail.calls + n;
    const auto files = w.storage.files;
    const auto dirs = w.storage.dirs;
    EXPECT_THROW(w.host->create(parse_vm_template(kWeb), {"", "", ""}), Error) << n;
    EXPECT_TRUE(w.hv.doms.empty()) << n;
    EXPECT_TRUE(w.hv.nets.at("lan").hosts.empty()) << n;
    EXPECT_EQ(w.storage.files, files) << n;
    EXPECT_EQ(w.storage.dirs, dirs) << n;
    EXPECT_EQ(w.host->capacity().vcpu_used, 0U) << n;
  }
}

}  // namespace
}  // namespace cloudtwin::host
