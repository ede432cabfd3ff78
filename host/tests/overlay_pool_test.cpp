// Overlays through a libvirt storage pool: the host.conf switch, the flat overlay paths a pool
// needs, rollback with every step failing in turn, the CLI's choice of storage, and the pool
// adapter against libvirt's test:///default driver.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/host/cli.hpp"
#include "cloudtwin/host/net_service.hpp"
#include "cloudtwin/host/vm_service.hpp"
#include "fakes.hpp"
#include "test_support.hpp"

namespace cloudtwin::host {
namespace {

using testing::FailCounter;
using testing::FakeHypervisor;
using testing::FakeStorage;

TEST(OverlayPool, SettingAndUri) {
  struct Case {
    const char* setting;
    const char* uri;
    bool pool;
  };
  const Case cases[] = {
      {"auto", "qemu:///system", true},      {"auto", "qemu+ssh://h/system", true},
      {"auto", "test:///default", false},    {"pool", "test:///default", true},
      {"qemu-img", "qemu:///system", false},
  };
  for (const auto& c : cases) EXPECT_EQ(use_overlay_pool(c.setting, c.uri), c.pool) << c.setting;
  EXPECT_THROW(use_overlay_pool("lvm", "qemu:///system"), Error);

  EXPECT_EQ(parse_host_conf("").overlays, "auto");
  EXPECT_EQ(parse_host_conf("[storage]\noverlays = qemu-img\n").overlays, "qemu-img");
  try {
    parse_host_conf("[storage]\n\noverlays = zfs\n", "/etc/cloudtwin/host.conf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/etc/cloudtwin/host.conf:3:1"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("use auto, pool or qemu-img"), std::string::npos);
  }
}

constexpr const char* kTemplate = R"(
NAME = web
DISK = [ IMAGE = "base.qcow2" ]
DISK = [ IMAGE = "data.qcow2", TARGET = vdc ]
DISK = [ IMAGE = "ro.qcow2", READONLY = YES ]
NIC = [ NETWORK = "lan" ]
)";

struct PoolWorld {
  FailCounter fail;
  FakeHypervisor hv{fail};
  FakeStorage storage{fail};
  testing::CountingRandom random;
  VmService vms{hv, storage, storage, random, settings()};
  NetService nets{hv};

  static HostSettings settings() {
    HostSettings s;
    s.instances_dir = "/inst";
    s.overlay_pool = true;
    return s;
  }
  PoolWorld() {
    nets.create(make_network_spec("lan", "10.0.0.0/24", "", "", "nat"));
    storage.dirs.insert("/inst");
  }
};

TEST(OverlayPool, OverlaysLieDirectlyInTheInstancesDirectory) {
  PoolWorld w;
  const auto plan = w.vms.create(parse_vm_template(kTemplate), "", "");
  ASSERT_EQ(plan.disks.size(), 3U);
  EXPECT_EQ(plan.disks[0].path, "/inst/web-disk0.qcow2");
  EXPECT_EQ(plan.disks[1].path, "/inst/web-disk1.qcow2");
  EXPECT_EQ(plan.disks[2].path, "/var/lib/cloudtwin/images/ro.qcow2");  // read-only: no overlay
  EXPECT_EQ(plan.record.host.overlays,
            (std::vector<std::string>{"/inst/web-disk0.qcow2", "/inst/web-disk1.qcow2"}));
  EXPECT_NE(plan.domain_xml.find("<source file='/inst/web-disk1.qcow2'/>"), std::string::npos);
  EXPECT_EQ(w.storage.files.at("/inst/web-disk0.qcow2"),
            "overlay of /var/lib/cloudtwin/images/base.qcow2");
  EXPECT_TRUE(w.vms.remove("web").empty());
  EXPECT_TRUE(w.storage.files.empty());
  EXPECT_EQ(w.storage.dirs, std::set<std::string>{"/inst"});
}

TEST(OverlayPool, EveryFailingStepRollsBackCompletely) {
  int total = 0;
  {
    PoolWorld w;
    w.fail.calls = 0;
    w.vms.create(parse_vm_template(kTemplate), "", "");
    total = w.fail.calls;
  }
  ASSERT_EQ(total, 7);  // dir, ISO, 2 overlays, DHCP host, define, start
  for (int n = 1; n <= total; ++n) {
    PoolWorld w;
    w.fail.calls = 0;
    w.fail.fail_at = n;
    EXPECT_THROW(w.vms.create(parse_vm_template(kTemplate), "", ""), Error) << "step " << n;
    EXPECT_TRUE(w.hv.doms.empty()) << "step " << n;
    EXPECT_TRUE(w.hv.nets.at("lan").hosts.empty()) << "step " << n;
    EXPECT_TRUE(w.storage.files.empty()) << "step " << n;
    EXPECT_EQ(w.storage.dirs, std::set<std::string>{"/inst"}) << "step " << n;
  }
  // A failing delete step leaves a warning, and the rest is still released.
  PoolWorld w;
  w.vms.create(parse_vm_template(kTemplate), "", "");
  w.fail.calls = 0;
  w.fail.fail_at = 5;  // destroy, DHCP host, undefine, context CD, then the first overlay
  const auto warnings = w.vms.remove("web");
  ASSERT_EQ(warnings.size(), 1U);
  EXPECT_NE(warnings[0].find("remove_overlay"), std::string::npos) << warnings[0];
  EXPECT_EQ(w.storage.files.size(), 1U);
  EXPECT_EQ(w.storage.files.count("/inst/web-disk0.qcow2"), 1U);
}

TEST(OverlayPool, CliPicksThePoolStorageFromHostConfAndUri) {
  FailCounter fail;
  FakeHypervisor hv{fail};
  FakeStorage storage{fail};
  std::vector<std::string> pool_calls;
  std::string conf;
  CliEnv env;
  env.connect = [&hv](const std::string&) { return std::make_unique<testing::HypervisorRef>(hv); };
  env.iso_writer = [&storage] { return std::make_unique<testing::StorageRef>(storage); };
  env.storage = [&storage] { return std::make_unique<testing::StorageRef>(storage); };
  env.pool_storage = [&](const std::string& uri, const std::string& dir) {
    pool_calls.push_back(uri + " " + dir);
    return std::make_unique<testing::StorageRef>(storage);
  };
  env.random = [] { return std::make_unique<testing::CountingRandom>(); };
  env.read_file = [&conf](const std::string& path) -> std::optional<std::string> {
    if (path == "/etc/cloudtwin/host.conf") return conf;
    if (path == "/t.tmpl") return std::string("DISK = [ IMAGE = b.qcow2 ]\n");
    return std::nullopt;
  };
  storage.dirs.insert("/inst");
  const auto run = [&](std::vector<std::string> args) {
    std::ostringstream out, err;
    const int rc = run_cli(args, out, err, env);
    EXPECT_EQ(rc, 0) << err.str();
  };
  conf = "[storage]\ninstances = /inst\n";
  run({"vm", "create", "/t.tmpl", "--name", "a"});
  EXPECT_EQ(storage.files.count("/inst/a-disk0.qcow2"), 1U);
  EXPECT_EQ(pool_calls, std::vector<std::string>{"qemu:///system /inst"});
  run({"--connect", "test:///default", "vm", "create", "/t.tmpl", "--name", "b"});
  EXPECT_EQ(storage.files.count("/inst/b/disk0.qcow2"), 1U);
  conf += "overlays = qemu-img\n";
  run({"vm", "create", "/t.tmpl", "--name", "c"});
  EXPECT_EQ(storage.files.count("/inst/c/disk0.qcow2"), 1U);
  EXPECT_EQ(pool_calls.size(), 1U);
  run({"vm", "delete", "a"});  // made the pool way, deleted the qemu-img way: still gone
  EXPECT_EQ(storage.files.count("/inst/a-disk0.qcow2"), 0U);
}

// libvirt's test driver keeps pools and volumes in memory (no files, no qemu-img), which is
// enough to see the adapter define the pool, make and delete volumes, and name errors.
TEST(OverlayPool, LibvirtPoolAdapterOnTheTestDriver) {
  testing::TempDir dir;
  const auto instances = (dir.path / "instances").string();
  std::filesystem::create_directories(instances);
  const auto base = (dir.path / "base.qcow2").string();
  std::ofstream(base) << "not really qcow2: the test driver never reads it";
  // test:///default lives while a connection is open; this one keeps it for the adapters.
  auto keep = make_libvirt_hypervisor("test:///default");
  auto pool = make_libvirt_pool_storage("test:///default", instances + "/", make_local_storage());
  pool->create_overlay(base, instances + "/vm1-disk0.qcow2");
  pool->create_overlay(base, instances + "/vm2-disk0.qcow2");  // the same pool, found again
  try {
    pool->create_overlay(base, instances + "/vm1-disk0.qcow2");
    FAIL() << "a second volume of one name";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot create overlay " + instances + "/vm1-disk0.qcow2"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("storage pool 'cloudtwin-instances'"), std::string::npos);
  }
  pool->remove_overlay(instances + "/vm1-disk0.qcow2");
  pool->remove_overlay(instances + "/vm1-disk0.qcow2");  // gone is fine
  pool->create_overlay(base, instances + "/vm1-disk0.qcow2");
  pool->remove_overlay(instances + "/vm1-disk0.qcow2");
  pool->remove_overlay(instances + "/vm2-disk0.qcow2");
  EXPECT_THROW(pool->create_overlay(base, instances + "/vm1/disk0.qcow2"), Error);  // subdir
  EXPECT_THROW(pool->create_overlay(base, "/elsewhere/vm1-disk0.qcow2"), Error);
  try {
    pool->create_overlay((dir.path / "missing.qcow2").string(), instances + "/x.qcow2");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
  }
  // Another directory while "cloudtwin-instances" points at this one: a clear refusal.
  const auto other = (dir.path / "other").string();
  std::filesystem::create_directories(other);
  auto moved = make_libvirt_pool_storage("test:///default", other, make_local_storage());
  try {
    moved->create_overlay(base, other + "/vm1-disk0.qcow2");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exists but not on " + other), std::string::npos)
        << e.what();
  }
  // Files, directories and the lock still go to the wrapped local storage.
  pool->create_dir(instances + "/vm3");
  EXPECT_TRUE(pool->exists(instances + "/vm3"));
  pool->remove_dir(instances + "/vm3");
  EXPECT_FALSE(pool->exists(instances + "/vm3"));
  EXPECT_TRUE(pool->lock(instances + "/.lock"));
}

}  // namespace
}  // namespace cloudtwin::host
