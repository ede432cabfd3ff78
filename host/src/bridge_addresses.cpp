#include "cloudtwin/host/bridge_addresses.hpp"

#include <algorithm>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/network_xml.hpp"

namespace cloudtwin::host {
namespace {

bool has(const std::vector<LinkAddress>& list, const LinkAddress& a) {
  return std::find(list.begin(), list.end(), a) != list.end();
}

}  // namespace

std::string LinkAddress::to_string() const { return address + "/" + std::to_string(prefix_length); }

std::string AddressOp::to_string() const {
  return kind == AddressOpKind::Add ? "add " + address.to_string() + " to " + link
                                    : "remove " + address.to_string() + " from " + link;
}

std::vector<LinkAddress> metadata_link_addresses() {
  return {{kMetadataAddress, 32}, {kMetadataAddress6, 128}};
}

BridgeAddressPlan plan_bridge_addresses(const std::string& bridge,
                                        const std::optional<ObservedLink>& link,
                                        const std::vector<LinkAddress>& wanted,
                                        const std::vector<LinkAddress>& owned_by_others) {
  if (!link) {
    throw Error(ErrorCode::NotFound,
                "--mode bridge:" + bridge + ": this host has no link named '" + bridge +
                    "'; bridge mode attaches VMs to an existing bridge (such as the LAN's br0): "
                    "create it first, or use --mode nat");
  }
  if (!link->bridge) {
    throw Error(ErrorCode::InvalidArgument,
                "--mode bridge:" + bridge + ": link '" + bridge +
                    "' is not a bridge; name the bridge that holds the LAN interface");
  }
  BridgeAddressPlan plan;
  for (const auto& a : wanted) {
    if (!has(link->addresses, a)) {
      plan.ops.push_back({AddressOpKind::Add, bridge, a});
      plan.owned.push_back(a);
    } else if (has(owned_by_others, a)) {
      plan.owned.push_back(a);
    }
  }
  return plan;
}

std::vector<AddressOp> plan_bridge_address_removal(const std::optional<ObservedLink>& link,
                                                   const std::vector<LinkAddress>& owned,
                                                   std::size_t others_on_bridge) {
  std::vector<AddressOp> ops;
  if (!link || others_on_bridge > 0) return ops;
  for (const auto& a : owned) {
    if (has(link->addresses, a)) ops.push_back({AddressOpKind::Remove, link->name, a});
  }
  return ops;
}

std::vector<AddressOp> plan_bridge_address_repair(const std::string& bridge,
                                                  const std::optional<ObservedLink>& link,
                                                  const std::vector<LinkAddress>& owned) {
  if (!link) {
    throw Error(ErrorCode::NotFound, "bridge '" + bridge +
                                         "' does not exist; create it again (it is the host's, "
                                         "not cloudtwin's), then run net repair");
  }
  std::vector<AddressOp> ops;
  for (const auto& a : owned) {
    if (!has(link->addresses, a)) ops.push_back({AddressOpKind::Add, link->name, a});
  }
  return ops;
}

}  // namespace cloudtwin::host
