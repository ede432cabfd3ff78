// The libnl LinkAddresses adapter and `net create|delete --mode bridge:BR` on real rtnetlink,
// in a network namespace made for each test (label netns: needs root). The namespace holds a
// bridge br0 with a veth in it (this kernel has no dummy links); the code under test runs in
// a forked child that joined the namespace, so the machine's own links are never touched.
// iproute2 only sets the scene and checks the result; the code under test never runs it.
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/host/net_service.hpp"
#include "cloudtwin/host/network_xml.hpp"
#include "cloudtwin/host/vm_service.hpp"
#include "cloudtwin/vm/net_ns.hpp"
#include "test_support.hpp"

namespace cloudtwin::host {
namespace {

using testing::have;
using testing::sh;

std::string text(const std::optional<ObservedLink>& link) {
  if (!link) return "none";
  std::string out = link->name + (link->bridge ? " bridge:" : " link:");
  for (const auto& a : link->addresses) {
    if (a.address.rfind("fe80:", 0) != 0) out += " " + a.to_string();  // link-local comes and goes
  }
  return out;
}

class HostNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces (label netns)";
    if (!have("ip")) GTEST_SKIP() << "iproute2 'ip' is not installed";
    name_ = "cloudtwin-host-" + std::to_string(getpid());
    sh("ip netns del " + name_ + " 2>/dev/null");
    ASSERT_EQ(sh("ip netns add " + name_ + " && echo ok"), "ok\n");
    created_ = true;
    ip("link add br0 type bridge");
    ip("link add veth0 type veth peer name veth1");
    ip("link set veth0 master br0");
    ip("addr add 192.168.1.5/24 dev br0");
    ip("link set br0 up");
    ip("link set veth0 up");
    ip("link set veth1 up");
  }
  void TearDown() override {
    if (created_) sh("ip netns del " + name_);
  }

  void ip(const std::string& args) {
    const auto out = sh("ip -n " + name_ + " " + args + " 2>&1 && echo ok");
    if (out.size() < 3 || out.substr(out.size() - 3) != "ok\n")
      throw std::runtime_error("ip " + args + ": " + out);
  }
  // br0's addresses as `ip` lists them, one "address/prefix" a line, without link-local.
  std::string br0_addresses() {
    return sh("ip -n " + name_ + " -o addr show dev br0 | awk '{print $4}' | grep -v '^fe80:'");
  }
  bool metadata_v6_tentative() {
    return sh("ip -n " + name_ + " -o addr show dev br0 tentative").find("fd00:ec2::254") !=
           std::string::npos;
  }

  // Runs f in a child that joined the namespace; returns its text or "EXCEPTION: ...".
  std::string in_netns(const std::function<std::string()>& f) { return vm::run_in_netns(name_, f); }

  std::string name_;
  bool created_ = false;
};

TEST_F(HostNetns, LibnlObservesAddsAndRemovesAddressesIdempotently) {
  const auto out = in_netns([] {
    std::ostringstream o;
    auto links = make_libnl_link_addresses();
    o << text(links->observe("br0")) << "\n"
      << text(links->observe("veth1")) << "\n"
      << text(links->observe("nope")) << "\n";
    for (int round = 0; round < 2; ++round) {  // the second time everything "exists"
      for (const auto& a : metadata_link_addresses()) links->apply({AddressOpKind::Add, "br0", a});
    }
    o << text(links->observe("br0")) << "\n";
    try {
      links->apply({AddressOpKind::Add, "nope", metadata_link_addresses().front()});
    } catch (const Error& e) {
      o << "error: " << e.what() << "\n";
    }
    links->apply({AddressOpKind::Remove, "nope", metadata_link_addresses().front()});
    return o.str();
  });
  EXPECT_EQ(out,
            "br0 bridge: 192.168.1.5/24\n"
            "veth1 link:\n"
            "none\n"
            "br0 bridge: 169.254.169.254/32 192.168.1.5/24 fd00:ec2::254/128\n"
            "error: cannot add 169.254.169.254/32 to nope: no link named 'nope'\n");
  EXPECT_EQ(br0_addresses(), "192.168.1.5/24\n169.254.169.254/32\nfd00:ec2::254/128\n");
  EXPECT_FALSE(metadata_v6_tentative()) << "fd00:ec2::254 must be usable at once (no DAD)";

  const auto removed = in_netns([] {
    auto links = make_libnl_link_addresses();
    for (int round = 0; round < 2; ++round) {  // the second time everything is gone
      for (const auto& a : metadata_link_addresses())
        links->apply({AddressOpKind::Remove, "br0", a});
    }
    return text(links->observe("br0"));
  });
  EXPECT_EQ(removed, "br0 bridge: 192.168.1.5/24");
}

// `net create|delete --mode bridge:br0` through the CLI's pieces: libvirt's test driver for
// the network, real netlink for the bridge. The admin's own 169.254.169.254 survives delete.
TEST_F(HostNetns, BridgeNetworkPutsAndTakesBackOnlyItsOwnAddresses) {
  ip("addr add 169.254.169.254/32 dev br0");
  const auto out = in_netns([] {
    std::ostringstream o;
    auto hv = make_libvirt_hypervisor("test:///default");
    auto links = make_libnl_link_addresses();
    NetService nets(*hv, links.get());
    try {
      nets.create(make_network_spec("ct-b9", "192.168.1.0/24", "", "", "bridge:br9"));
    } catch (const Error& e) {
      o << "error: " << e.what() << "\n";
    }
    try {
      nets.create(make_network_spec("ct-veth", "192.168.1.0/24", "", "", "bridge:veth1"));
    } catch (const Error& e) {
      o << "error: " << e.what() << "\n";
    }
    nets.create(make_network_spec("ct-br", "192.168.1.0/24", "", "", "bridge:br0"));
    const auto shown = nets.show("ct-br");
    for (const auto& a : shown.spec.owned_addresses) o << "owned " << a.to_string() << "\n";
    o << text(links->observe("br0")) << "\n";
    nets.remove("ct-br");
    o << text(links->observe("br0")) << "\n";
    return o.str();
  });
  EXPECT_EQ(out,
            "error: --mode bridge:br9: this host has no link named 'br9'; bridge mode attaches "
            "VMs to an existing bridge (such as the LAN's br0): create it first, or use --mode "
            "nat\n"
            "error: --mode bridge:veth1: link 'veth1' is not a bridge; name the bridge that "
            "holds the LAN interface\n"
            "owned fd00:ec2::254/128\n"
            "br0 bridge: 169.254.169.254/32 192.168.1.5/24 fd00:ec2::254/128\n"
            "br0 bridge: 169.254.169.254/32 192.168.1.5/24\n");
}

}  // namespace
}  // namespace cloudtwin::host
