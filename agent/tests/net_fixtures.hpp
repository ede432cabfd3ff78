#pragma once
// Helpers shared by the network tests: terse links, addresses and routes from text, and
// a simulation of what the kernel does with each operation (used to check that a
// second diff is empty, and by the fake Netlink).

#include <algorithm>
#include <string>
#include <vector>

#include "cloudtwin/agent/network_plan.hpp"

namespace cloudtwin::agent::testing {

inline IpAddress ip(const std::string& text) {
  if (text.find(':') != std::string::npos) return core::Ipv6::parse(text);
  return core::Ipv4::parse(text);
}

// "192.168.1.6/24" or "2001:db8::1/64"
inline InterfaceAddress addr(const std::string& text) {
  const auto slash = text.find('/');
  return InterfaceAddress{ip(text.substr(0, slash)), std::stoi(text.substr(slash + 1))};
}

// "default via 10.0.0.1", "default6 via 2001:db8::1", "10.0.0.0/8 via 10.0.0.1",
// "169.254.169.254/32"
inline RouteSpec route(const std::string& text) {
  RouteSpec r;
  const auto via = text.find(" via ");
  const std::string dst = text.substr(0, via);
  if (dst == "default") {
    r.destination = core::Ipv4{};
  } else if (dst == "default6") {
    r.destination = core::Ipv6{};
  } else {
    const auto a = addr(dst);
    r.destination = a.ip;
    r.prefix_length = a.prefix_length;
  }
  if (via != std::string::npos) r.gateway = ip(text.substr(via + 5));
  return r;
}

inline Link link(int ifindex, const std::string& name, const std::string& mac, bool up = false,
                 int mtu = 1500, const std::vector<std::string>& addresses = {},
                 const std::vector<std::string>& routes = {}) {
  Link l;
  l.ifindex = ifindex;
  l.name = name;
  if (!mac.empty()) l.mac = core::Mac::parse(mac);
  l.up = up;
  l.mtu = mtu;
  for (const auto& a : addresses) l.addresses.push_back(addr(a));
  for (const auto& r : routes) l.routes.push_back(route(r));
  return l;
}

// What the kernel does with an operation, including the connected route of an IPv4
// address (proto kernel), which the plan never asks for itself.
inline void simulate(ObservedState& state, const Operation& op) {
  for (auto& l : state.links) {
    if (l.ifindex != op.ifindex) continue;
    switch (op.kind) {
      case OperationKind::SetMtu:
        l.mtu = op.mtu;
        break;
      case OperationKind::SetUp:
        l.up = true;
        break;
      case OperationKind::AddAddress:
        if (std::find(l.addresses.begin(), l.addresses.end(), *op.address) == l.addresses.end()) {
          l.addresses.push_back(*op.address);
          if (const auto* v4 = std::get_if<core::Ipv4>(&op.address->ip)) {
            l.routes.push_back(RouteSpec{core::Ipv4Cidr{*v4, op.address->prefix_length}.network(),
                                         op.address->prefix_length, std::nullopt});
          }
        }
        break;
      case OperationKind::AddRoute:
        l.routes.push_back(*op.route);
        break;
    }
  }
}

inline std::vector<std::string> lines(const std::vector<Operation>& ops) {
  std::vector<std::string> out;
  for (const auto& op : ops) out.push_back(to_string(op));
  return out;
}

}  // namespace cloudtwin::agent::testing
