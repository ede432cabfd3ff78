#pragma once
// Private to the CLI: the hosts `cloudtwin vm ...` reaches, opened from host.conf. A new
// kind of host is its Host implementation plus one row in kHostKinds (hosts.cpp).
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli_args.hpp"
#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/host/host.hpp"
#include "cloudtwin/host/inventory.hpp"
#include "cloudtwin/host/placement.hpp"

namespace cloudtwin::host {

struct HostKind {
  std::string_view kind;  // Host::kind()
  // The host.conf section that configures it: a kind is opened when its section is there,
  // or always (the local libvirt host runs on defaults).
  std::string_view section;
  bool always = false;
  std::unique_ptr<Host> (*open)(const CliContext& ctx) = nullptr;
};

const std::vector<HostKind>& host_kinds();

class Hosts {
 public:
  // Opens every configured host, in table order, then the inventory's hosts (host.conf
  // [inventory] path, when that database exists), those concurrently: a host that does not
  // answer is kept as such (its VMs listed "unknown" from the leases), not fatal.
  explicit Hosts(const CliContext& ctx);
  ~Hosts();
  Hosts(const Hosts&) = delete;
  Hosts& operator=(const Hosts&) = delete;
  // Where `vm create` puts a VM of `tmpl` (placement.hpp): libvirt hosts first, most free
  // memory first, while their capacity allows, then EC2 within its caps, unless `on` (--on)
  // or REQUIREMENTS pins it. Disabled inventory hosts take no new VMs.
  std::pair<Host*, Placement> for_create(const VmTemplate& tmpl, const std::string& vm,
                                         const std::string& on);
  // Creates the VM on `host`; on an inventory host its NICs' addresses are leased from the
  // inventory first (released again when the create fails).
  VmSummary create(Host& host, VmTemplate tmpl, const CreateOptions& options);
  // Deletes the VM and releases its leases.
  std::vector<std::string> remove(const std::string& vm);
  // The host that has VM `vm`; Error(NotFound) when none has.
  Host& holding(const std::string& vm);
  std::vector<VmSummary> list();  // every host's VMs, hosts asked concurrently
  // After list(): the inventory host that has (or, not answering, is leased) `vm`; "" else.
  std::string host_of(const std::string& vm) const;
  const std::vector<std::string>& unreachable() const { return unreachable_; }
  const std::vector<std::unique_ptr<Host>>& all() const { return hosts_; }
  std::vector<PlacementCandidate> candidates();  // hosts that answer and take VMs

 private:
  const CliContext& ctx_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::unique_ptr<Inventory> inventory_;  // null: no inventory database
  std::vector<InventoryHost> inventory_hosts_;
  std::vector<std::string> unreachable_;        // names of hosts that did not answer
  std::map<std::string, std::string> host_of_;  // VM -> inventory host, from list()
};

// The inventory of host.conf [inventory] path (made when missing).
std::unique_ptr<Inventory> open_inventory(const CliContext& ctx);
// The same, or null when the database does not exist (single-host use, as before hosts).
std::unique_ptr<Inventory> open_inventory_if_there(const CliContext& ctx);

// One inventory host as it answered (or did not): `host list`, `host remove`, rebuild.
struct HostProbe {
  InventoryHost host;
  bool reachable = false;
  std::string error;  // why not
  NodeInfo node;
  Capacity capacity;    // cloudtwin's VMs there against the node's totals
  std::size_t vms = 0;  // cloudtwin's VMs (those with a record)
  std::vector<VmSummary> summaries;
  std::vector<NetworkInfo> networks;
};
// Asks every host at once (one thread and one connection each); never throws for a host.
std::vector<HostProbe> probe_hosts(const CliContext& ctx, const std::vector<InventoryHost>& hosts);

struct RebuildResult {
  std::size_t hosts = 0, networks = 0, leases = 0;
};
// `inventory rebuild`: the networks and leases recomputed from every inventory host's
// cloudtwin networks and domain records, written in one transaction. Refuses (inventory
// unchanged) when a host does not answer or two hosts disagree on a network.
RebuildResult rebuild_inventory(const CliContext& ctx, Inventory& inventory);

}  // namespace cloudtwin::host
