#pragma once
// `net create|list|show|delete|repair` over the adapters. create is plan-then-apply: on a
// failure every step done (network defined, started, addresses on a bridge) is undone.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/host/bridge_addresses.hpp"
#include "cloudtwin/host/network_xml.hpp"

namespace cloudtwin::host {

struct NetworkSummary {
  NetworkSpec spec;
  bool active = false;
  std::size_t vm_count = 0;
  // Bridge mode, from show() with netlink: the metadata addresses that are on the bridge now
  // (nullopt: not looked at).
  std::optional<std::vector<LinkAddress>> addresses_on_bridge;
};

class NetService {
 public:
  // `links` may be null: bridge-mode networks are then refused (create) or left with their
  // addresses (remove fails naming them).
  explicit NetService(Hypervisor& hv, LinkAddresses* links = nullptr) : hv_(hv), links_(links) {}
  // define + start (+ in bridge mode the metadata addresses on the bridge, planned first);
  // on a failure every step done is undone.
  void create(const NetworkSpec& spec);
  std::vector<NetworkSummary> list();  // only networks cloudtwin made
  NetworkSummary show(const std::string& name);
  // Refused while VMs use it. Bridge mode: removes the metadata addresses cloudtwin owns on the
  // bridge when no other cloudtwin network uses that bridge.
  void remove(const std::string& name);
  // Brings a network back to what cloudtwin made: starts it when inactive and, in bridge
  // mode, puts back the metadata addresses it owns that the bridge lost. Returns what it
  // did, one line per change (empty: nothing to repair).
  std::vector<std::string> repair(const std::string& name);

 private:
  std::vector<NetworkSpec> bridge_networks_on(const std::string& bridge, const std::string& except);
  Hypervisor& hv_;
  LinkAddresses* links_;
};

}  // namespace cloudtwin::host
