#pragma once
// The network plan: what each NIC should look like (desired, built from context
// variables or from a MAC alone), what the kernel reports (observed), and the list of
// operations that turns one into the other. Pure: no netlink, no files. Applying the
// operations and observing again yields an empty list, which is what makes a second
// run of the agent change nothing.

#include <compare>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cloudtwin/core/context.hpp"
#include "cloudtwin/core/mac_ip.hpp"

namespace cloudtwin::agent {

using IpAddress = std::variant<core::Ipv4, core::Ipv6>;

bool is_ipv6(const IpAddress& ip) noexcept;
std::string to_string(const IpAddress& ip);

// An address with its prefix length, as on an interface ("192.168.1.6/24").
struct InterfaceAddress {
  IpAddress ip;
  int prefix_length = 32;
  auto operator<=>(const InterfaceAddress&) const = default;
};
std::string to_string(const InterfaceAddress& a);

// A route in the main table. No gateway means on-link ("dev eth0" only).
struct RouteSpec {
  IpAddress destination;  // network address; 0.0.0.0 or :: with length 0 is the default
  int prefix_length = 0;
  std::optional<IpAddress> gateway;
  auto operator<=>(const RouteSpec&) const = default;
};
std::string to_string(const RouteSpec& r);  // "default via 192.168.1.1", "10.0.0.0/8 via ..."

enum class Method { Static, Dhcp, Skip };
const char* to_string(Method m) noexcept;

// Desired configuration of one NIC, matched to a link by MAC.
struct InterfacePlan {
  core::Mac mac;
  std::string source;  // where it came from, for messages: "ETH0", "MAC 02:00:..."
  Method method = Method::Static;
  bool ipv6_autoconf = false;  // IP6_METHOD auto|dhcp: left to the kernel / distro
  std::optional<int> mtu;
  std::vector<InterfaceAddress> addresses;
  std::vector<RouteSpec> routes;  // in order: on-link helpers, then gateway routes
  std::vector<std::string> dns;
  std::vector<std::string> search_domains;
  auto operator<=>(const InterfacePlan&) const = default;
};

struct NetworkPlan {
  std::vector<InterfacePlan> nics;
  std::vector<std::string> warnings;  // NICs left out and why
};

inline constexpr core::Ipv4 kMetadataIpv4{{169, 254, 169, 254}};

struct PlanOptions {
  core::MacPrefix mac_prefix = core::kDefaultMacPrefix;
  // Add a route to 169.254.169.254/32 on the first statically configured NIC
  // (via its gateway when it has one, else on-link) so the metadata service is reachable.
  bool metadata_route = false;
};

// From ETHn_* variables. A NIC without ETHn_IP whose MAC carries the prefix gets the
// address from its MAC (/24 and gateway .1 unless ETHn_MASK / ETHn_GATEWAY say otherwise).
// A NIC whose variables are invalid is left out with a warning naming the variable;
// the other NICs are still planned. NETWORK=NO plans nothing.
NetworkPlan plan_from_context(const core::Context& context, const PlanOptions& options = {});

// Observed state, as netlink reports it.
struct Link {
  int ifindex = 0;
  std::string name;
  std::optional<core::Mac> mac;  // none for links without an Ethernet address (lo, tun)
  bool up = false;
  int mtu = 0;
  std::vector<InterfaceAddress> addresses;
  std::vector<RouteSpec> routes;  // main-table routes whose output interface is this link
};

struct ObservedState {
  std::vector<Link> links;
};

// From the MAC alone: every link whose MAC carries the prefix and that has no IPv4
// address yet gets IP from its MAC, /24, gateway .1 (how the agent reaches the
// metadata service before it has any context).
NetworkPlan plan_from_macs(const ObservedState& observed, const PlanOptions& options = {});

enum class OperationKind { SetMtu, SetUp, AddAddress, AddRoute };

struct Operation {
  OperationKind kind = OperationKind::SetUp;
  int ifindex = 0;
  std::string ifname;
  int mtu = 0;                              // SetMtu
  std::optional<InterfaceAddress> address;  // AddAddress
  std::optional<RouteSpec> route;           // AddRoute
  auto operator<=>(const Operation&) const = default;
};

// One line, like the ip(8) command that would do the same:
// "link set eth0 mtu 9000", "link set eth0 up", "addr add 192.168.1.6/24 dev eth0",
// "route add default via 192.168.1.1 dev eth0".
std::string to_string(const Operation& op);

struct Changes {
  std::vector<Operation> operations;
  std::vector<std::string> warnings;  // planned NICs with no matching link, etc.
};

// Desired vs observed -> operations, NIC by NIC in plan order: MTU, up, addresses,
// routes. Nothing already in place is repeated; nothing is ever removed.
Changes diff(const NetworkPlan& plan, const ObservedState& observed);

}  // namespace cloudtwin::agent
