// The inventory: host names and URIs, the lowest free lease, the SQLite database (hosts,
// leases, 50 processes allocating at once) and `cloudtwin host ...` over fake hypervisors.
#include "cloudtwin/host/inventory.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/cli.hpp"
#include "fakes.hpp"
#include "test_support.hpp"

namespace cloudtwin::host {
namespace {

using namespace cloudtwin::host::testing;

TEST(Inventory, HostNamesAndUris) {
  struct Case {
    std::string name, uri;
    std::string error;  // "" accepted, else a part of the message
  };
  const Case cases[] = {
      {"kvm1", "qemu+ssh://root@kvm1/system", ""},
      {"kvm-2.lan", "qemu+tls://kvm2.lan:16514/system?no_verify=1", ""},
      {"t", "test:///default", ""},
      {"h", "qemu+tcp://10.0.0.2/system", ""},
      {"", "qemu:///system", "is not a plain name"},
      {"-x", "qemu:///system", "is not a plain name"},
      {"a b", "qemu:///system", "is not a plain name"},
      {std::string(64, 'a'), "qemu:///system", "is not a plain name"},
      {"local", "qemu:///system", "taken by the built-in local host"},
      {"ec2", "qemu:///system", "taken by the built-in ec2 host"},
      {"kvm1", "kvm1", "is not a libvirt URI"},
      {"kvm1", "://x/system", "is not a libvirt URI"},
      {"kvm1", "QEMU://x/system", "bad scheme 'QEMU'"},
      {"kvm1", "+ssh://x/system", "bad scheme '+ssh'"},
      {"kvm1", "qemu+ssh://kvm1", "has no path"},
      {"kvm1", "qemu+ssh://kvm1/system x", "contains a space"},
      {"kvm1", "qemu+ssh://k'1/system", "contains a space, a quote"},
  };
  for (const auto& c : cases) {
    try {
      check_host_name(c.name);
      check_host_uri(c.uri);
      EXPECT_EQ(c.error, "") << c.name << " " << c.uri;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
      EXPECT_NE(c.error, "") << c.name << " " << c.uri << ": " << e.what();
      if (!c.error.empty()) {
        EXPECT_NE(std::string(e.what()).find(c.error), std::string::npos) << e.what();
      }
    }
  }
}

std::uint32_t u32(const char* ip) { return core::Ipv4::parse(ip).to_u32(); }

TEST(Inventory, FirstFreeLease) {
  const InventoryNetwork lan{"lan", core::Ipv4Cidr::parse("10.10.0.0/29"),
                             core::Ipv4::parse("10.10.0.1"), core::MacPrefix::parse("02:00")};
  const InventoryNetwork top{"top", core::Ipv4Cidr::parse("10.10.0.0/29"),
                             core::Ipv4::parse("10.10.0.6"), core::MacPrefix::parse("0a:bc")};
  struct Case {
    const InventoryNetwork* net;
    std::vector<std::uint32_t> used;
    std::string ip, mac;  // ip "": full
  };
  const Case cases[] = {
      {&lan, {}, "10.10.0.2", "02:00:0a:0a:00:02"},
      {&lan, {u32("10.10.0.2")}, "10.10.0.3", "02:00:0a:0a:00:03"},
      {&lan, {u32("10.10.0.3")}, "10.10.0.2", "02:00:0a:0a:00:02"},  // a gap is reused
      {&lan,
       {u32("10.10.0.2"), u32("10.10.0.3"), u32("10.10.0.5")},
       "10.10.0.4",
       "02:00:0a:0a:00:04"},
      {&lan,
       {u32("9.0.0.1"), u32("10.10.0.2")},
       "10.10.0.3",
       "02:00:0a:0a:00:03"},                         // others' ignored
      {&top, {}, "10.10.0.1", "0a:bc:0a:0a:00:01"},  // the gateway is elsewhere
      {&top,
       {u32("10.10.0.1"), u32("10.10.0.2"), u32("10.10.0.3"), u32("10.10.0.4")},
       "10.10.0.5",
       "0a:bc:0a:0a:00:05"},
      {&top,
       {u32("10.10.0.1"), u32("10.10.0.2"), u32("10.10.0.3"), u32("10.10.0.4"), u32("10.10.0.5")},
       "",
       ""},
      {&lan,
       {u32("10.10.0.2"), u32("10.10.0.3"), u32("10.10.0.4"), u32("10.10.0.5"), u32("10.10.0.6")},
       "",
       ""},
  };
  for (const auto& c : cases) {
    if (c.ip.empty()) {
      try {
        first_free_lease(*c.net, c.used);
        ADD_FAILURE() << "expected full";
      } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()), "network '" + c.net->name +
                                             "' has no free address in 10.10.0.0/29 (5 leased); "
                                             "delete a VM or create a larger network");
      }
      continue;
    }
    const auto l = first_free_lease(*c.net, c.used);
    EXPECT_EQ(l.ip.to_string(), c.ip);
    EXPECT_EQ(l.mac.to_string(), c.mac);
    EXPECT_EQ(l.network, c.net->name);
  }
}

InventoryNetwork lan_net(const char* cidr = "10.10.0.0/16") {
  return {"lan", core::Ipv4Cidr::parse(cidr), core::Ipv4::parse("10.10.0.1"),
          core::MacPrefix::parse("02:00")};
}

TEST(Inventory, SqliteHosts) {
  TempDir dir;
  const auto path = (dir.path / "inv.db").string();
  auto inv = make_sqlite_inventory(path);
  inv->add_host({"kvm2", "qemu+tcp://10.0.0.2/system", true});
  inv->add_host({"kvm1", "qemu+ssh://root@kvm1/system", true});
  EXPECT_THROW(inv->add_host({"kvm1", "qemu:///system", true}), Error);
  EXPECT_THROW(inv->add_host({"local", "qemu:///system", true}), Error);
  inv->set_enabled("kvm2", false);
  EXPECT_THROW(inv->set_enabled("nope", false), Error);
  // A second connection (another process) sees the same.
  EXPECT_EQ(make_sqlite_inventory(path)->hosts(),
            (std::vector<InventoryHost>{{"kvm1", "qemu+ssh://root@kvm1/system", true},
                                        {"kvm2", "qemu+tcp://10.0.0.2/system", false}}));
  inv->put_network(lan_net());
  inv->allocate_lease("lan", "web", "kvm1", std::nullopt);
  try {
    inv->remove_host("kvm1");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "host 'kvm1' still has 1 VM(s) with leases (e.g. 'web'); delete or migrate them "
              "first");
  }
  EXPECT_EQ(inv->release_leases("web"), 1U);
  inv->remove_host("kvm1");
  EXPECT_THROW(inv->remove_host("kvm1"), Error);
  EXPECT_EQ(inv->hosts().size(), 1U);
}

TEST(Inventory, SqliteLeases) {
  TempDir dir;
  auto inv = make_sqlite_inventory((dir.path / "inv.db").string());
  inv->put_network(lan_net());
  EXPECT_THROW(inv->allocate_lease("wan", "a", "kvm1", std::nullopt), Error);
  const auto a = inv->allocate_lease("lan", "a", "kvm1", std::nullopt);
  const auto b = inv->allocate_lease("lan", "b", "kvm2", std::nullopt);
  EXPECT_EQ(a.ip.to_string(), "10.10.0.2");
  EXPECT_EQ(b.ip.to_string(), "10.10.0.3");
  EXPECT_EQ(b.mac.to_string(), "02:00:0a:0a:00:03");
  EXPECT_EQ(inv->allocate_lease("lan", "a", "kvm1", std::nullopt), a);  // asked again: the same
  const auto c = inv->allocate_lease("lan", "c", "kvm1", core::Ipv4::parse("10.10.9.9"));
  EXPECT_EQ(c.mac.to_string(), "02:00:0a:0a:09:09");
  try {
    inv->allocate_lease("lan", "d", "kvm1", core::Ipv4::parse("10.10.0.3"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "address 10.10.0.3 on network 'lan' is leased to VM 'b'");
  }
  EXPECT_THROW(inv->allocate_lease("lan", "d", "kvm1", core::Ipv4::parse("10.10.0.1")), Error);
  EXPECT_THROW(inv->allocate_lease("lan", "d", "kvm1", core::Ipv4::parse("10.11.0.9")), Error);
  EXPECT_EQ(inv->release_leases("a"), 1U);
  EXPECT_EQ(inv->allocate_lease("lan", "d", "kvm2", std::nullopt).ip.to_string(), "10.10.0.2");
  const auto v = inv->view();
  EXPECT_EQ(v.networks, std::vector<InventoryNetwork>{lan_net()});
  std::vector<std::string> got;
  for (const auto& l : v.leases)
    got.push_back(l.ip.to_string() + " " + l.mac.to_string() + " " + l.vm + "@" + l.host);
  EXPECT_EQ(got, (std::vector<std::string>{"10.10.0.2 02:00:0a:0a:00:02 d@kvm2",
                                           "10.10.0.3 02:00:0a:0a:00:03 b@kvm2",
                                           "10.10.9.9 02:00:0a:0a:09:09 c@kvm1"}));
  // replace(): one transaction; a duplicate MAC rolls all of it back.
  auto dup = v.leases;
  dup.push_back(dup.front());
  dup.back().ip = core::Ipv4::parse("10.10.0.77");
  EXPECT_THROW(inv->replace(v.networks, dup), Error);
  EXPECT_EQ(inv->view(), v);
  inv->replace(v.networks, {});
  EXPECT_TRUE(inv->leases().empty());
}

// 50 processes allocate at once, each its own connection, as 50 `vm create` runs would.
TEST(Inventory, FiftyProcessesNeverShareAnAddress) {
  TempDir dir;
  const auto path = (dir.path / "inv.db").string();
  make_sqlite_inventory(path)->put_network(lan_net("10.10.0.0/24"));
  constexpr int kProcesses = 50;
  constexpr int kEach = 4;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int rc = 0;
      try {
        auto inv = make_sqlite_inventory(path);
        for (int i = 0; i < kEach; ++i) {
          inv->allocate_lease("lan", "vm" + std::to_string(p) + "-" + std::to_string(i),
                              p % 2 == 0 ? "kvm1" : "kvm2", std::nullopt);
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "process %d: %s\n", p, e.what());
        rc = 1;
      }
      ::_exit(rc);
    }
    pids.push_back(pid);
  }
  for (const auto pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  const auto leases = make_sqlite_inventory(path)->leases();
  ASSERT_EQ(leases.size(), static_cast<std::size_t>(kProcesses * kEach));  // none lost
  std::set<core::Ipv4> ips;
  std::set<core::Mac> macs;
  std::set<std::string> vms;
  for (const auto& l : leases) {
    ips.insert(l.ip);
    macs.insert(l.mac);
    vms.insert(l.vm);
  }
  EXPECT_EQ(ips.size(), leases.size());
  EXPECT_EQ(macs.size(), leases.size());
  EXPECT_EQ(vms.size(), leases.size());
  // The lowest 200 addresses, no holes: .2 to .201.
  EXPECT_EQ(ips.begin()->to_string(), "10.10.0.2");
  EXPECT_EQ(ips.rbegin()->to_string(), "10.10.0.201");
}

// `cloudtwin host ...` against fake hypervisors, one of which does not answer.
class HostCliTest : public ::testing::Test {
 protected:
  FailCounter fail;
  std::map<std::string, std::unique_ptr<FakeHypervisor>> hvs;
  FakeStorage storage{fail};
  CountingRandom random;
  TempDir dir;
  CliEnv env;
  std::map<std::string, std::string> files = {
      {"/t/web.tmpl", "MEMORY = 1024\nNIC = [ NETWORK = lan ]\n"}};

  void SetUp() override {
    for (const auto* uri : {"test:///kvm1", "test:///kvm2"})
      hvs[uri] = std::make_unique<FakeHypervisor>(fail);
    hvs["test:///kvm2"]->node = {16, 65536};
    env.connect = [this](const std::string& uri) -> std::unique_ptr<Hypervisor> {
      const auto it = hvs.find(uri);
      if (it == hvs.end())
        throw Error(ErrorCode::Io, "cannot connect to libvirt at '" + uri + "': refused");
      return std::make_unique<HypervisorRef>(*it->second);
    };
    files["/etc/cloudtwin/host.conf"] =
        "[storage]\ninstances = /inst\n[inventory]\npath = " + db() + "\n";
    env.read_file = [this](const std::string& path) -> std::optional<std::string> {
      const auto it = files.find(path);
      if (it == files.end()) return std::nullopt;
      return it->second;
    };
    storage.dirs.insert("/inst");
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
  }

  std::string db() const { return (dir.path / "inv.db").string(); }

  int run(std::vector<std::string> args, std::string* out_text = nullptr,
          std::string* err_text = nullptr) {
    std::ostringstream out, err;
    const int rc = run_cli(args, out, err, env);
    if (out_text != nullptr) *out_text = out.str();
    if (err_text != nullptr) *err_text = err.str();
    return rc;
  }
};

TEST_F(HostCliTest, AddListDisableRemove) {
  struct Step {
    std::vector<std::string> args;
    int rc;
    std::string out, err;  // exact
  };
  const Step steps[] = {
      {{"host", "add", "kvm1", "test:///kvm1"}, 0, "added host kvm1 (test:///kvm1)\n", ""},
      {{"host", "add", "kvm2", "test:///kvm2"}, 0, "added host kvm2 (test:///kvm2)\n", ""},
      {{"host", "add", "kvm3", "qemu+tcp://10.9.9.9/system"},
       0,
       "added host kvm3 (qemu+tcp://10.9.9.9/system)\n",
       "cloudtwin: warning: host kvm3 is not reachable now: cannot connect to libvirt at "
       "'qemu+tcp://10.9.9.9/system': refused\n"},
      {{"host", "add", "kvm1", "test:///kvm1"},
       1,
       "",
       "cloudtwin: host 'kvm1' is already in the inventory (cloudtwin host list)\n"},
      {{"host", "add", "kvm4"}, 2, "", "cloudtwin: host add needs NAME URI\n"},
      {{"host", "disable", "kvm2"}, 0, "disabled host kvm2: no new VMs there\n", ""},
      {{"host", "list"},
       0,
       "NAME  URI                         STATE                 VCPU used/allowed/total  "
       "MEMORY MiB used/allowed/total  VMS\n"
       "kvm1  test:///kvm1                enabled               0/4/4                    "
       "0/8192/8192                    0\n"
       "kvm2  test:///kvm2                disabled              0/16/16                  "
       "0/65536/65536                  0\n"
       "kvm3  qemu+tcp://10.9.9.9/system  enabled, unreachable  -                        -"
       "                              -\n",
       "cloudtwin: warning: host kvm3: cannot connect to libvirt at "
       "'qemu+tcp://10.9.9.9/system': refused\n"},
      {{"host", "list", "--json"},
       0,
       R"([{"name":"kvm1","uri":"test:///kvm1","enabled":true,"reachable":true,)"
       R"("vcpu":{"used":0,"allowed":4,"total":4},)"
       R"("memory-mib":{"used":0,"allowed":8192,"total":8192},"vms":0},)"
       R"({"name":"kvm2","uri":"test:///kvm2","enabled":false,"reachable":true,)"
       R"("vcpu":{"used":0,"allowed":16,"total":16},)"
       R"("memory-mib":{"used":0,"allowed":65536,"total":65536},"vms":0},)"
       R"({"name":"kvm3","uri":"qemu+tcp://10.9.9.9/system","enabled":true,"reachable":false,)"
       R"("error":"cannot connect to libvirt at 'qemu+tcp://10.9.9.9/system': refused"}])"
       "\n",
       ""},
      {{"host", "enable", "kvm2"}, 0, "enabled host kvm2\n", ""},
      {{"host", "remove", "kvm3"}, 0, "removed host kvm3\n", ""},
      {{"host", "remove", "kvm3"},
       1,
       "",
       "cloudtwin: no host named 'kvm3' in the inventory (cloudtwin host list)\n"},
      {{"host", "frob"}, 2, "", "cloudtwin: unknown host subcommand 'frob'\n"},
  };
  for (const auto& s : steps) {
    std::string out, err;
    EXPECT_EQ(run(s.args, &out, &err), s.rc) << s.args[1];
    EXPECT_EQ(out, s.out) << s.args[1];
    if (s.rc == 2) {
      EXPECT_EQ(err.substr(0, s.err.size()), s.err);
    } else {
      EXPECT_EQ(err, s.err) << s.args[1];
    }
  }
}

// VMs spread over two hosts by free memory, one address plan from the inventory, a host
// that stops answering, and `inventory rebuild` after the database is deleted.
TEST_F(HostCliTest, VmsOverTwoHosts) {
  std::string out, err;
  ASSERT_EQ(run({"host", "add", "kvm1", "test:///kvm1"}), 0);
  ASSERT_EQ(run({"host", "add", "kvm2", "test:///kvm2"}), 0);
  for (const auto* uri : {"test:///kvm1", "test:///kvm2"}) {
    ASSERT_EQ(run({"--connect", uri, "net", "create", "lan", "--cidr", "10.10.0.0/16", "--mode",
                   "isolated"},
                  &out, &err),
              0)
        << err;
  }
  // Each host knows only its own VMs; the addresses come from the inventory, so b on kvm1
  // does not get a's 10.10.0.2 again.
  struct Create {
    std::vector<std::string> args;
    std::string out;
  };
  const Create creates[] = {
      {{"vm", "create", "/t/web.tmpl", "--name", "a"},
       "placing on kvm2: first host with room; kvm2: vCPU 0/16, memory 0/65536 MiB\n"
       "created VM a (i-12222222222222222) 10.10.0.2@lan\n"},
      {{"vm", "create", "/t/web.tmpl", "--name", "b", "--on", "kvm1"},
       "placing on kvm1: --on kvm1: kvm1: vCPU 0/4, memory 0/8192 MiB\n"
       "created VM b (i-56666666666666666) 10.10.0.3@lan\n"},
      {{"vm", "create", "/t/web.tmpl", "--name", "c"},
       "placing on kvm2: first host with room; kvm2: vCPU 1/16, memory 1024/65536 MiB\n"
       "created VM c (i-9aaaaaaaaaaaaaaaa) 10.10.0.4@lan\n"},
  };
  for (const auto& c : creates) {
    ASSERT_EQ(run(c.args, &out, &err), 0) << err;
    EXPECT_EQ(out, c.out);
  }
  const std::string listed =
      "NAME  STATE    LOCATION  INSTANCE-ID          ADDRESSES\n"
      "b     running  kvm1      i-56666666666666666  10.10.0.3@lan\n"
      "a     running  kvm2      i-12222222222222222  10.10.0.2@lan\n"
      "c     running  kvm2      i-9aaaaaaaaaaaaaaaa  10.10.0.4@lan\n";
  ASSERT_EQ(run({"vm", "list"}, &out, &err), 0) << err;
  EXPECT_EQ(out, listed);
  EXPECT_EQ(err, "cloudtwin: warning: host local does not answer: its VMs are unknown\n");

  // The database deleted: rebuilt from the hosts' networks and domain records, the same view.
  const auto before = make_sqlite_inventory(db())->view();
  ASSERT_EQ(before.leases.size(), 3U);
  for (const auto* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db() + suffix);
  ASSERT_EQ(run({"inventory", "rebuild", "kvm1=test:///kvm1", "kvm2=test:///kvm2"}, &out, &err), 0)
      << err;
  EXPECT_EQ(out, "inventory rebuilt: 2 host(s), 1 network(s), 3 lease(s)\n");
  EXPECT_EQ(make_sqlite_inventory(db())->view(), before);
  ASSERT_EQ(run({"vm", "list"}, &out, &err), 0) << err;
  EXPECT_EQ(out, listed);

  // kvm1 stops answering: its VM is listed as unknown, the command still succeeds; rebuild
  // refuses rather than drop kvm1's leases.
  auto kvm1 = std::move(hvs["test:///kvm1"]);
  hvs.erase("test:///kvm1");
  ASSERT_EQ(run({"vm", "list"}, &out, &err), 0) << err;
  EXPECT_EQ(out,
            "NAME  STATE    LOCATION  INSTANCE-ID          ADDRESSES\n"
            "b     unknown  kvm1      -                    -\n"
            "a     running  kvm2      i-12222222222222222  10.10.0.2@lan\n"
            "c     running  kvm2      i-9aaaaaaaaaaaaaaaa  10.10.0.4@lan\n");
  EXPECT_EQ(err,
            "cloudtwin: warning: host local does not answer: its VMs are unknown\n"
            "cloudtwin: warning: host kvm1 does not answer: its VMs are unknown\n");
  EXPECT_EQ(run({"inventory", "rebuild"}, &out, &err), 1);
  EXPECT_EQ(err,
            "cloudtwin: host kvm1 (test:///kvm1) does not answer, so its VMs' leases cannot be "
            "read: cannot connect to libvirt at 'test:///kvm1': refused; inventory left "
            "unchanged\n");
  EXPECT_EQ(make_sqlite_inventory(db())->view(), before);
  EXPECT_EQ(run({"vm", "show", "b"}, &out, &err), 1);
  EXPECT_EQ(err,
            "cloudtwin: host kvm1 (test:///kvm1) does not answer: cannot connect to libvirt at "
            "'test:///kvm1': refused\n");

  EXPECT_EQ(run({"host", "remove", "kvm2"}, &out, &err), 1);
  EXPECT_EQ(err,
            "cloudtwin: host 'kvm2' still runs 2 cloudtwin VM(s); delete or migrate them first\n");
  ASSERT_EQ(run({"vm", "delete", "a"}, &out, &err), 0) << err;
  EXPECT_EQ(make_sqlite_inventory(db())->leases().size(), 2U);  // a's lease released
  EXPECT_EQ(run({"host", "disable", "kvm2"}), 0);
  EXPECT_EQ(run({"vm", "create", "/t/web.tmpl", "--name", "d"}, &out, &err), 1);
  EXPECT_EQ(err,
            "cloudtwin: no host takes new VMs (local does not answer, kvm1 does not answer, kvm2 "
            "is disabled); cloudtwin host list shows them, cloudtwin host enable NAME takes a "
            "host back\n");
  EXPECT_EQ(run({"vm", "create", "/t/web.tmpl", "--name", "d", "--on", "kvm2"}, &out, &err), 1);
  EXPECT_EQ(err,
            "cloudtwin: VM 'd' is pinned to kvm2 by --on, which is disabled (cloudtwin host "
            "enable kvm2)\n");
  // kvm1 back: d goes there, with the lowest free address (a's, released).
  hvs["test:///kvm1"] = std::move(kvm1);
  ASSERT_EQ(run({"vm", "create", "/t/web.tmpl", "--name", "d"}, &out, &err), 0) << err;
  EXPECT_EQ(out,
            "placing on kvm1: first host with room; kvm1: vCPU 1/4, memory 1024/8192 MiB\n"
            "created VM d (i-deeeeeeeeeeeeeeee) 10.10.0.2@lan\n");
  // A create that fails on the host leaves no lease behind.
  fail.fail_at = fail.calls + 3;
  EXPECT_EQ(run({"vm", "create", "/t/web.tmpl", "--name", "e", "--on", "kvm1"}, &out, &err), 1);
  EXPECT_EQ(make_sqlite_inventory(db())->leases().size(), 3U);
  fail.fail_at = 0;
}

}  // namespace
}  // namespace cloudtwin::host
