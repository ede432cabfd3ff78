#pragma once
// The control node's inventory: the hypervisors `cloudtwin` manages (`cloudtwin host ...`),
// the networks that span them and the address leases on those networks, kept in one
// embedded database (adapters/inventory_sqlite.cpp) so that concurrent `vm create` runs
// never hand out one address or MAC twice. libvirt stays the source of truth for domains:
// `cloudtwin inventory rebuild` recomputes the leases from the hosts' instance records.
//
// This header is the pure part: the rows, the rules for names and URIs, the lowest free
// address of a network, and the view rebuilt from domain records. No SQLite here.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cloudtwin/core/mac_ip.hpp"
#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/host/host.hpp"

namespace cloudtwin::host {

struct InventoryHost {
  std::string name;  // "kvm1"
  std::string uri;   // "qemu+ssh://root@kvm1/system"
  bool enabled = true;
  bool operator==(const InventoryHost&) const = default;
};

struct InventoryNetwork {
  std::string name;
  core::Ipv4Cidr cidr;
  core::Ipv4 gateway;
  core::MacPrefix mac_prefix;
  bool operator==(const InventoryNetwork&) const = default;
};

struct Lease {
  std::string network;
  core::Ipv4 ip;
  core::Mac mac;     // the network's prefix + the IPv4 bytes (core::mac_from_ipv4)
  std::string vm;    // the VM (domain) name
  std::string host;  // the inventory host it runs on
  bool operator==(const Lease&) const = default;
  auto operator<=>(const Lease&) const = default;
};

// The whole inventory at once (`inventory rebuild` replaces it in one transaction).
struct InventoryView {
  std::vector<InventoryHost> hosts;
  std::vector<InventoryNetwork> networks;
  std::vector<Lease> leases;  // sorted by (network, ip)
  bool operator==(const InventoryView&) const = default;
};

// Throws Error(InvalidArgument) saying what is wrong: a host name is a plain name of at
// most 63 characters, not "local" or "ec2" (the names of the built-in hosts); a URI is a
// libvirt URI "driver[+transport]://[user@][host[:port]]/path[?query]".
void check_host_name(const std::string& name);
void check_host_uri(const std::string& uri);

// The lowest address of `n` that is not the network, broadcast or gateway address and not in
// `used` (ascending, host order, as the database returns them), with its MAC. Throws
// Error(InvalidArgument) naming the network when it is full.
Lease first_free_lease(const InventoryNetwork& n, const std::vector<std::uint32_t>& used);

// The leases the instance records of one host's domains claim on inventory networks (NICs
// on networks the inventory does not know are left out): what `inventory rebuild` keeps.
std::vector<Lease> leases_from_domains(const std::string& host, const std::vector<VmSummary>& vms,
                                       const std::vector<InventoryNetwork>& networks);

// The VMs of one host's domains, their records parsed (a record that does not parse is left
// out: the VM is listed, as not cloudtwin's). VmService::list is this over its connection.
std::vector<VmSummary> summaries_of(const std::vector<DomainInfo>& domains);

// The inventory database. Every change is one transaction; allocation takes the write lock
// before reading (BEGIN IMMEDIATE), so two processes never lease one address. Errors:
// Error(NotFound) for an unknown host or network, Error(InvalidArgument) for a duplicate or
// a refused change, Error(Io) for the database itself; each names the object.
class Inventory {
 public:
  virtual ~Inventory() = default;
  virtual void add_host(const InventoryHost& host) = 0;
  virtual std::vector<InventoryHost> hosts() = 0;  // by name
  virtual void set_enabled(const std::string& host, bool enabled) = 0;
  // Refuses while the inventory holds leases of VMs on the host (the CLI also asks the host).
  virtual void remove_host(const std::string& host) = 0;
  virtual void put_network(const InventoryNetwork& network) = 0;  // adds or replaces
  virtual std::vector<InventoryNetwork> networks() = 0;           // by name
  // A new lease of the lowest free address (or `wanted`, refused when taken) for `vm` on
  // `host`. A VM holds at most one lease per network: asking again returns that one.
  virtual Lease allocate_lease(const std::string& network, const std::string& vm,
                               const std::string& host, std::optional<core::Ipv4> wanted) = 0;
  virtual std::size_t release_leases(const std::string& vm) = 0;  // how many were released
  virtual void rename_leases(const std::string& from, const std::string& to) = 0;
  virtual std::vector<Lease> leases() = 0;  // by (network, ip)
  virtual InventoryView view() = 0;
  // Replaces the networks and leases (`inventory rebuild`; hosts stay), in one transaction.
  virtual void replace(const std::vector<InventoryNetwork>& networks,
                       const std::vector<Lease>& leases) = 0;
};

// The SQLite inventory at `path` (created with its schema when missing; WAL, busy timeout).
std::unique_ptr<Inventory> make_sqlite_inventory(const std::string& path);

}  // namespace cloudtwin::host
