// The real adapters: libvirt's test:///default driver (in libvirt.so: no daemon, no root),
// libisofs read back with isoinfo/xorriso, and qemu-img overlays in a temp dir.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "cloudtwin/core/context_sh.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/host/cli.hpp"
#include "cloudtwin/host/net_service.hpp"
#include "cloudtwin/host/vm_service.hpp"
#include "fakes.hpp"

#include "test_support.hpp"

namespace cloudtwin::host {
namespace {

namespace fs = std::filesystem;

using testing::have;
using testing::sh;
using testing::TempDir;

TEST(LibvirtTestDriver, NetworksDhcpHostsDomainsAndRecords) {
  auto hv = make_libvirt_hypervisor("test:///default");
  NetService nets(*hv);
  nets.create(make_network_spec("ctlan", "10.7.0.0/24", "", "", "nat"));
  const auto net = nets.show("ctlan");
  EXPECT_TRUE(net.active);
  EXPECT_EQ(net.spec.gateway.to_string(), "10.7.0.1");
  EXPECT_THROW(nets.create(make_network_spec("ctlan", "10.7.0.0/24", "", "", "nat")), Error);
  for (const auto& n : hv->list_networks()) {
    if (n.name != "ctlan") continue;
    EXPECT_NE(n.xml.find("address='fd00:ec2::254' prefix='128'"), std::string::npos) << n.xml;
    EXPECT_NE(n.xml.find("address='169.254.169.254' prefix='32'"), std::string::npos) << n.xml;
  }

  const auto host = render_dhcp_host_xml(
      {core::Mac::parse("02:00:0a:07:00:05"), core::Ipv4::parse("10.7.0.5"), "vm1"});
  hv->add_dhcp_host("ctlan", host);
  EXPECT_EQ(nets.show("ctlan").spec.hosts.size(), 1U);
  EXPECT_THROW(hv->add_dhcp_host("nope", host), Error);

  testing::FailCounter never;
  testing::FakeStorage storage(never);
  storage.dirs.insert("/inst");
  testing::CountingRandom random;
  HostSettings settings;
  settings.instances_dir = "/inst";
  VmService vms(*hv, storage, storage, random, settings);
  const auto plan = vms.create(
      parse_vm_template("NIC = [ NETWORK = ctlan ]\nEC2 = [ AMI = ami-7 ]"), "ct-vm1", "");
  // Reservations count as in use (10.7.0.5 here); the lowest free address is .2.
  EXPECT_EQ(plan.nics.at(0).ip.to_string(), "10.7.0.2");
  const auto shown = vms.show("ct-vm1");
  EXPECT_TRUE(shown.running());
  ASSERT_TRUE(shown.record);
  EXPECT_EQ(*shown.record, plan.record);  // read back through virDomainGetMetadata
  EXPECT_EQ(shown.record->ami_id, "ami-7");
  EXPECT_EQ(nets.show("ctlan").spec.hosts.size(), 2U);

  EXPECT_TRUE(vms.remove("ct-vm1").empty());
  EXPECT_THROW(vms.show("ct-vm1"), Error);
  EXPECT_EQ(nets.show("ctlan").spec.hosts.size(), 1U);
  hv->remove_dhcp_host("ctlan", host);
  nets.remove("ctlan");
  EXPECT_THROW(nets.show("ctlan"), Error);
}

TEST(LibvirtTestDriver, ErrorsNameTheObject) {
  EXPECT_THROW(make_libvirt_hypervisor("bogus:///nothing"), Error);
  auto hv = make_libvirt_hypervisor("test:///default");
  try {
    hv->start_domain("no-such-vm");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
    EXPECT_NE(std::string(e.what()).find("no-such-vm"), std::string::npos);
  }
  EXPECT_THROW(hv->define_domain("<domain"), Error);
}

TEST(IsoWriter, ContextCdReadsBackWithIsoinfoAndXorriso) {
  if (!have("isoinfo") || !have("xorriso"))
    GTEST_SKIP() << "isoinfo or xorriso not installed (genisoimage, xorriso)";
  TempDir dir;
  const auto extra = (dir.path / "init.sh").string();
  std::ofstream(extra) << "#!/bin/sh\necho hi\n";
  const core::ContextVars vars = {{"ETH0_IP", "10.0.0.2"}, {"QUOTE", "it's \"x\"\n$(no)"}};
  const auto context = core::serialize_context_sh(vars);
  const auto iso = (dir.path / "context.iso").string();
  make_libisofs_writer()->write(iso, "CONTEXT",
                                {{"context.sh", context, ""}, {"init.sh", "", extra}});

  EXPECT_EQ(fs::status(iso).permissions(), fs::perms::owner_read | fs::perms::owner_write);
  const auto info = sh("isoinfo -d -i " + iso);
  EXPECT_NE(info.find("Volume id: CONTEXT"), std::string::npos) << info;
  EXPECT_NE(info.find("Joliet with UCS level 3 found"), std::string::npos) << info;
  EXPECT_NE(info.find("Rock Ridge signatures version 1 found"), std::string::npos) << info;
  const auto listing = sh("xorriso -indev " + iso + " -ls / 2>/dev/null");
  EXPECT_NE(listing.find("'context.sh'"), std::string::npos) << listing;
  EXPECT_NE(listing.find("'init.sh'"), std::string::npos) << listing;
  const auto read_back = sh("isoinfo -R -i " + iso + " -x /context.sh");
  EXPECT_EQ(read_back, context);
  EXPECT_EQ(core::parse_context_sh(read_back), vars);
  EXPECT_EQ(sh("isoinfo -R -i " + iso + " -x /init.sh"), "#!/bin/sh\necho hi\n");
  EXPECT_NE(sh("isoinfo -J -l -i " + iso).find("init.sh"), std::string::npos);

  EXPECT_THROW(make_libisofs_writer()->write((dir.path / "x.iso").string(), "CONTEXT",
                                             {{"a", "", (dir.path / "missing").string()}}),
               Error);
  EXPECT_THROW(make_libisofs_writer()->write((dir.path / "no/dir/x.iso").string(), "CONTEXT", {}),
               Error);
}

TEST(LocalStorage, Qcow2OverlayDirsAndLock) {
  if (!have("qemu-img")) GTEST_SKIP() << "qemu-img not installed (qemu-utils)";
  TempDir dir;
  const auto base = (dir.path / "base.qcow2").string();
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 " + base + " 16M && echo ok"), "ok\n");
  auto s = make_local_storage();
  const auto vm = (dir.path / "vm").string();
  s->create_dir(vm);
  EXPECT_THROW(s->create_dir(vm), Error);
  const auto overlay = vm + "/disk0.qcow2";
  s->create_overlay(base, overlay);
  const auto info = sh("qemu-img info " + overlay);
  EXPECT_NE(info.find("backing file: " + base), std::string::npos) << info;
  EXPECT_THROW(s->create_overlay(vm + "/missing.qcow2", vm + "/d1.qcow2"), Error);
  EXPECT_FALSE(s->exists(vm + "/d1.qcow2"));
  EXPECT_THROW(s->remove_dir(vm), Error);  // not empty
  s->remove_file(overlay);
  s->remove_file(overlay);  // absent is fine
  s->remove_dir(vm);
  s->remove_dir(vm);
  EXPECT_FALSE(s->exists(vm));
  {
    auto held = s->lock((dir.path / ".lock").string());
    EXPECT_TRUE(held);
  }
  EXPECT_THROW(s->lock((dir.path / "no/.lock").string()), Error);
}

TEST(EndToEnd, CliWithRealAdaptersLeavesNothingBehind) {
  if (!have("qemu-img") || !have("isoinfo")) GTEST_SKIP() << "qemu-img or isoinfo not installed";
  TempDir dir;
  const auto images = dir.path / "images";
  const auto instances = dir.path / "instances";
  fs::create_directories(images);
  fs::create_directories(instances);
  ASSERT_EQ(
      sh("qemu-img create -q -f qcow2 " + (images / "base.qcow2").string() + " 16M && echo ok"),
      "ok\n");
  std::ofstream(dir.path / "host.conf")
      << "[libvirt]\nuri = test:///default\n[storage]\nimages = " << images.string()
      << "\ninstances = " << instances.string() << "\n";
  std::ofstream(dir.path / "vm.tmpl")
      << "MEMORY = 128\nDISK = [ IMAGE = base.qcow2 ]\nNIC = [ NETWORK = e2e ]\n"
         "CONTEXT = [ USER_DATA = \"#!/bin/sh\necho hi\", MY_IP = \"$NIC[IP]\" ]\n";
  // test:///default keeps its state only while a connection is open: share one.
  auto libvirt = make_libvirt_hypervisor("test:///default");
  auto env = default_cli_env();
  env.connect = [&libvirt](const std::string&) {
    return std::make_unique<testing::HypervisorRef>(*libvirt);
  };
  env.config_path = (dir.path / "host.conf").string();
  const auto cli = [&env](std::vector<std::string> args) {
    std::ostringstream out, err;
    const int rc = run_cli(args, out, err, env);
    EXPECT_EQ(rc, 0) << err.str();
    return out.str();
  };
  cli({"net", "create", "e2e", "--cidr", "10.8.0.0/24"});
  EXPECT_NE(cli({"vm", "create", (dir.path / "vm.tmpl").string(), "--name", "e2e-vm"})
                .find("10.8.0.2@e2e"),
            std::string::npos);
  const auto iso = (instances / "e2e-vm" / "context.iso").string();
  const auto context = core::parse_context_sh(sh("isoinfo -R -i " + iso + " -x /context.sh"));
  EXPECT_EQ(context.at("ETH0_IP"), "10.8.0.2");
  EXPECT_EQ(context.at("MY_IP"), "10.8.0.2");
  EXPECT_EQ(context.at("USER_DATA"), "IyEvYmluL3NoCmVjaG8gaGk=");
  EXPECT_NE(
      sh("qemu-img info " + (instances / "e2e-vm" / "disk0.qcow2").string()).find("backing file"),
      std::string::npos);
  EXPECT_NE(cli({"vm", "show", "e2e-vm", "--json"}).find("\"state\":\"running\""),
            std::string::npos);
  cli({"vm", "delete", "e2e-vm"});
  cli({"net", "delete", "e2e"});
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(instances))
    left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{".lock"}) << "only the (persistent) lock file may stay";
  EXPECT_EQ(cli({"vm", "list"}).find("e2e-vm"), std::string::npos);
}

}  // namespace
}  // namespace cloudtwin::host
