// The placement + lease decision of `vm create` on several hosts (issue 14, goal < 1 ms per
// VM with 10,000 leases in the inventory): place() over three hosts' figures, then a lease
// from the SQLite inventory (BEGIN IMMEDIATE, lowest free address, INSERT, COMMIT; WAL),
// released again so every iteration sees the same 10,000 leases.
// Reference: the single-host way, lease_address() over an in-memory set of the same 10,000
// addresses (no database, no safety between processes): what the database costs on top.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>

#include "cloudtwin/host/inventory.hpp"
#include "cloudtwin/host/lease.hpp"
#include "cloudtwin/host/placement.hpp"
#include "ratio.hpp"

namespace {

namespace fs = std::filesystem;
using namespace cloudtwin::host;
using cloudtwin::core::Ipv4;
using cloudtwin::core::Ipv4Cidr;

constexpr int kLeases = 10000;

const InventoryNetwork& lan() {
  static const InventoryNetwork n{"lan", Ipv4Cidr::parse("10.10.0.0/16"), Ipv4::parse("10.10.0.1"),
                                  cloudtwin::core::MacPrefix::parse("02:00")};
  return n;
}

std::vector<PlacementCandidate> hosts() {
  return {{"kvm1", "libvirt", {"kvm1", 30, 64, 61440, 131072, {}}},
          {"kvm2", "libvirt", {"kvm2", 12, 64, 24576, 131072, {}}},
          {"ec2", "ec2", {"ec2:eu-west-1", 0, 0, 0, 0, {{"t3.micro", {3, 10}}}}}};
}

PlacementRequest request() {
  PlacementRequest r;
  r.vm = "web";
  r.vcpu = 2;
  r.memory_mib = 2048;
  r.instance_type = "t3.micro";
  return r;
}

void BM_PlaceAndLeaseSqlite(benchmark::State& state) {
  const auto dir = fs::temp_directory_path() / ("cloudtwin-invbench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto path = (dir / "inventory.db").string();
  {
    auto inv = make_sqlite_inventory(path);
    inv->put_network(lan());
    std::vector<Lease> leases;
    std::vector<std::uint32_t> used;
    for (int i = 0; i < kLeases; ++i) {
      auto l = first_free_lease(lan(), used);
      used.push_back(l.ip.to_u32());
      l.vm = "vm" + std::to_string(i);
      l.host = i % 2 == 0 ? "kvm1" : "kvm2";
      leases.push_back(l);
    }
    inv->replace({lan()}, leases);
  }
  auto inv = make_sqlite_inventory(path);
  const auto candidates = hosts();
  const auto r = request();
  for (auto _ : state) {
    const auto p = place(candidates, r);
    const auto l = inv->allocate_lease("lan", "new", candidates[p.index].name, std::nullopt);
    benchmark::DoNotOptimize(l);
    inv->release_leases("new");
  }
  inv.reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_PlaceAndLeaseSqlite)->Unit(benchmark::kMicrosecond);

void BM_PlaceAndLeaseInMemory(benchmark::State& state) {
  std::set<Ipv4> in_use;
  for (std::uint32_t i = 0; i < kLeases; ++i) in_use.insert(Ipv4::from_u32(0x0a0a0002U + i));
  const auto candidates = hosts();
  const auto r = request();
  for (auto _ : state) {
    const auto p = place(candidates, r);
    benchmark::DoNotOptimize(p);
    const auto ip = lease_address(lan().cidr, lan().gateway, in_use, "lan");
    benchmark::DoNotOptimize(ip);
  }
}
BENCHMARK(BM_PlaceAndLeaseInMemory)->Unit(benchmark::kMicrosecond);

const bool registered = cloudtwin::bench::register_ratio(
    {"BM_PlaceAndLeaseSqlite", "BM_PlaceAndLeaseInMemory",
     "placement + lease, 10,000 leases: SQLite inventory vs in-memory set (goal < 1 ms)"});

}  // namespace
