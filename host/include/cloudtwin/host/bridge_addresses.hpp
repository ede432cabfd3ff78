#pragma once
// The metadata addresses (169.254.169.254/32, fd00:ec2::254/128) on an existing host bridge,
// for `net create --mode bridge:BR` networks, where libvirt puts no address on the bridge.
// Plan, then apply: pure functions turn (wanted, observed) into add/remove operations; a
// LinkAddresses adapter (rtnetlink) observes the link and applies them one by one.
//
// Several cloudtwin networks may share one bridge. Each records in its <metadata> the
// addresses that belong to cloudtwin (added by it, or inherited from another cloudtwin
// network on the bridge); the last of them to be deleted removes those, and addresses that
// were on the bridge before cloudtwin came are never touched.

#include <compare>
#include <optional>
#include <string>
#include <vector>

namespace cloudtwin::host {

struct LinkAddress {
  std::string address;  // canonical text: "169.254.169.254", "fd00:ec2::254"
  int prefix_length = 0;
  auto operator<=>(const LinkAddress&) const = default;
  std::string to_string() const;  // "fd00:ec2::254/128"
  bool ipv6() const { return address.find(':') != std::string::npos; }
};

// What rtnetlink reports about one link.
struct ObservedLink {
  std::string name;
  bool bridge = false;  // IFLA_INFO_KIND "bridge"
  std::vector<LinkAddress> addresses;
};

enum class AddressOpKind { Add, Remove };

struct AddressOp {
  AddressOpKind kind = AddressOpKind::Add;
  std::string link;
  LinkAddress address;
  auto operator<=>(const AddressOp&) const = default;
  std::string to_string() const;  // "add 169.254.169.254/32 to br0"
};

// 169.254.169.254/32 and fd00:ec2::254/128.
std::vector<LinkAddress> metadata_link_addresses();

struct BridgeAddressPlan {
  std::vector<AddressOp> ops;      // to apply, in order
  std::vector<LinkAddress> owned;  // cloudtwin's once applied: record these in the network
};

// For a new network on `link`. `link` nullopt: no such link. `owned_by_others`: the
// addresses other cloudtwin networks on the same bridge own. An address already on the link
// is left alone; it counts as cloudtwin's only if another cloudtwin network owns it.
// Throws Error(NotFound) when the link does not exist and Error(InvalidArgument) when it is
// not a bridge, naming it and saying what to do.
BridgeAddressPlan plan_bridge_addresses(const std::string& bridge,
                                        const std::optional<ObservedLink>& link,
                                        const std::vector<LinkAddress>& wanted,
                                        const std::vector<LinkAddress>& owned_by_others);

// For deleting a network on `link` that owns `owned`: removes the owned addresses still on
// the link, unless another cloudtwin network on the link remains (`others_on_bridge` > 0),
// which keeps using them. A link that is gone needs nothing.
std::vector<AddressOp> plan_bridge_address_removal(const std::optional<ObservedLink>& link,
                                                   const std::vector<LinkAddress>& owned,
                                                   std::size_t others_on_bridge);

// For `net repair` of a network on `bridge` that owns `owned`: adds back the owned
// addresses the link lost (the bridge was recreated, someone flushed it). Throws
// Error(NotFound) when the bridge is gone, saying to create it first.
std::vector<AddressOp> plan_bridge_address_repair(const std::string& bridge,
                                                  const std::optional<ObservedLink>& link,
                                                  const std::vector<LinkAddress>& owned);

}  // namespace cloudtwin::host
