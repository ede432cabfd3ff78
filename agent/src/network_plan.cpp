#include "cloudtwin/agent/network_plan.hpp"

#include <algorithm>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {

namespace {

constexpr int kDefaultPrefixV4 = 24;  // one-context's default ETHn_MASK is 255.255.255.0
constexpr int kDefaultPrefixV6 = 64;

core::Ipv4 network_of(const core::Ipv4& ip, int prefix_length) {
  return core::Ipv4Cidr{ip, prefix_length}.network();
}

// The first host of the subnet: what the MAC rule assumes the gateway is.
std::optional<core::Ipv4> first_host(const core::Ipv4& ip, int prefix_length) {
  if (prefix_length >= 31) return std::nullopt;
  const auto gw = core::Ipv4::from_u32(network_of(ip, prefix_length).to_u32() + 1);
  if (gw == ip) return std::nullopt;
  return gw;
}

RouteSpec default_route(const IpAddress& gateway) {
  if (is_ipv6(gateway)) return RouteSpec{core::Ipv6{}, 0, gateway};
  return RouteSpec{core::Ipv4{}, 0, gateway};
}

// Routes that NICs share: one default route per family (the first NIC that has a
// gateway), one metadata route.
struct SharedRoutes {
  bool default_v4 = false;
  bool default_v6 = false;
  bool metadata = false;
};

void add_v4_routes(InterfacePlan& nic, const InterfaceAddress& address,
                   std::optional<core::Ipv4> gateway, const std::vector<core::Route>& extra,
                   SharedRoutes& shared, const PlanOptions& options) {
  const auto& ip = std::get<core::Ipv4>(address.ip);
  const core::Ipv4Cidr subnet{ip, address.prefix_length};
  auto reach = [&](const core::Ipv4& gw) {
    // A gateway outside the subnet needs an on-link host route first, or the kernel
    // refuses routes through it ("Nexthop has invalid gateway").
    const RouteSpec host{gw, 32, std::nullopt};
    if (!subnet.contains(gw) &&
        std::find(nic.routes.begin(), nic.routes.end(), host) == nic.routes.end()) {
      nic.routes.push_back(host);
    }
  };
  if (gateway && !shared.default_v4) {
    reach(*gateway);
    nic.routes.push_back(default_route(*gateway));
    shared.default_v4 = true;
  }
  for (const auto& r : extra) {
    reach(r.gateway);
    nic.routes.push_back(
        RouteSpec{r.destination.network(), r.destination.prefix_length, r.gateway});
  }
  if (options.metadata_route && !shared.metadata) {
    if (gateway) {
      reach(*gateway);
      nic.routes.push_back(RouteSpec{kMetadataIpv4, 32, *gateway});
    } else {
      nic.routes.push_back(RouteSpec{kMetadataIpv4, 32, std::nullopt});
    }
    shared.metadata = true;
  }
}

void plan_ipv6(InterfacePlan& nic, const core::NicContext& ctx, SharedRoutes& shared) {
  switch (ctx.ip6_method) {
    case core::NicIp6Method::Auto:
    case core::NicIp6Method::Dhcp:
      nic.ipv6_autoconf = true;
      return;
    case core::NicIp6Method::Disable:
    case core::NicIp6Method::Skip:
      return;
    case core::NicIp6Method::Static:
      break;
  }
  if (ctx.ip6)
    nic.addresses.push_back({*ctx.ip6, ctx.ip6_prefix_length.value_or(kDefaultPrefixV6)});
  if (ctx.ip6_ula) nic.addresses.push_back({*ctx.ip6_ula, kDefaultPrefixV6});
  if (ctx.ip6_gateway && !shared.default_v6) {
    nic.routes.push_back(default_route(*ctx.ip6_gateway));
    shared.default_v6 = true;
  }
}

InterfacePlan plan_nic(const core::NicContext& ctx, const core::Mac& mac, SharedRoutes& shared,
                       const PlanOptions& options) {
  InterfacePlan nic;
  nic.mac = mac;
  nic.source = "ETH" + std::to_string(ctx.index);
  nic.mtu = ctx.mtu;
  nic.dns = ctx.dns;
  nic.search_domains = ctx.search_domains;
  nic.method = ctx.method == core::NicMethod::Dhcp   ? Method::Dhcp
               : ctx.method == core::NicMethod::Skip ? Method::Skip
                                                     : Method::Static;
  if (nic.method != Method::Static) return nic;

  std::optional<core::Ipv4> ip = ctx.ip;
  std::optional<core::Ipv4> gateway = ctx.gateway;
  const int prefix = ctx.prefix_length.value_or(kDefaultPrefixV4);
  if (!ip && core::mac_has_prefix(mac, options.mac_prefix)) {
    ip = core::ipv4_from_mac(mac, options.mac_prefix);
    if (!gateway) gateway = first_host(*ip, prefix);
  }
  if (ip) {
    const InterfaceAddress address{*ip, prefix};
    nic.addresses.push_back(address);
    add_v4_routes(nic, address, gateway, ctx.routes, shared, options);
  }
  plan_ipv6(nic, ctx, shared);
  return nic;
}

const Link* find_link(const ObservedState& observed, const core::Mac& mac) {
  for (const auto& link : observed.links) {
    if (link.mac == mac) return &link;
  }
  return nullptr;
}

// A route with the same destination elsewhere (another link or gateway): the kernel
// would refuse ours as "exists", so we leave it and say so instead.
const Link* route_owner(const ObservedState& observed, const RouteSpec& want,
                        const RouteSpec** found) {
  for (const auto& link : observed.links) {
    for (const auto& r : link.routes) {
      if (r.destination == want.destination && r.prefix_length == want.prefix_length) {
        *found = &r;
        return &link;
      }
    }
  }
  return nullptr;
}

void diff_nic(const InterfacePlan& nic, const Link& link, const ObservedState& observed,
              Changes& out) {
  auto op = [&](OperationKind kind) {
    Operation o;
    o.kind = kind;
    o.ifindex = link.ifindex;
    o.ifname = link.name;
    return o;
  };
  if (nic.mtu && link.mtu != *nic.mtu) {
    auto o = op(OperationKind::SetMtu);
    o.mtu = *nic.mtu;
    out.operations.push_back(o);
  }
  if (!link.up) out.operations.push_back(op(OperationKind::SetUp));
  for (const auto& a : nic.addresses) {
    if (std::find(link.addresses.begin(), link.addresses.end(), a) != link.addresses.end())
      continue;
    auto o = op(OperationKind::AddAddress);
    o.address = a;
    out.operations.push_back(o);
  }
  for (const auto& r : nic.routes) {
    const RouteSpec* existing = nullptr;
    if (const Link* owner = route_owner(observed, r, &existing)) {
      if (owner->ifindex != link.ifindex || existing->gateway != r.gateway) {
        out.warnings.push_back("route " + to_string(r) + " dev " + link.name + " (" + nic.source +
                               ") not added: " + to_string(*existing) + " dev " + owner->name +
                               " already exists");
      }
      continue;
    }
    auto o = op(OperationKind::AddRoute);
    o.route = r;
    out.operations.push_back(o);
  }
}

}  // namespace

bool is_ipv6(const IpAddress& ip) noexcept { return std::holds_alternative<core::Ipv6>(ip); }

std::string to_string(const IpAddress& ip) {
  return std::visit([](const auto& a) { return a.to_string(); }, ip);
}

std::string to_string(const InterfaceAddress& a) {
  return to_string(a.ip) + "/" + std::to_string(a.prefix_length);
}

std::string to_string(const RouteSpec& r) {
  std::string out = r.prefix_length == 0
                        ? std::string("default")
                        : to_string(r.destination) + "/" + std::to_string(r.prefix_length);
  if (r.gateway) out += " via " + to_string(*r.gateway);
  return out;
}

const char* to_string(Method m) noexcept {
  switch (m) {
    case Method::Static:
      return "static";
    case Method::Dhcp:
      return "dhcp";
    case Method::Skip:
      return "skip";
  }
  return "?";
}

NetworkPlan plan_from_context(const core::Context& context, const PlanOptions& options) {
  NetworkPlan plan;
  if (!context.network_enabled()) {
    plan.warnings.push_back("NETWORK=NO: network configuration left alone");
    return plan;
  }
  SharedRoutes shared;
  for (const int index : context.nic_indexes()) {
    const std::string name = "ETH" + std::to_string(index);
    try {
      const auto ctx = context.nic(index);
      if (!ctx.mac) {
        plan.warnings.push_back(name + ": no " + name +
                                "_MAC, so no interface can be matched; NIC left unconfigured");
        continue;
      }
      // Two context NICs with one MAC would both match one interface and fight over it.
      const auto same_mac = std::find_if(plan.nics.begin(), plan.nics.end(),
                                         [&](const auto& n) { return n.mac == *ctx.mac; });
      if (same_mac != plan.nics.end()) {
        plan.warnings.push_back(name + ": MAC " + ctx.mac->to_string() + " is also " +
                                same_mac->source + "'s; NIC left unconfigured");
        continue;
      }
      plan.nics.push_back(plan_nic(ctx, *ctx.mac, shared, options));
    } catch (const Error& e) {
      plan.warnings.push_back(name + ": " + e.what() + "; NIC left unconfigured");
    }
  }
  return plan;
}

NetworkPlan plan_from_macs(const ObservedState& observed, const PlanOptions& options) {
  NetworkPlan plan;
  SharedRoutes shared;
  for (const auto& link : observed.links) {
    if (!link.mac || !core::mac_has_prefix(*link.mac, options.mac_prefix)) continue;
    const bool has_v4 = std::any_of(link.addresses.begin(), link.addresses.end(),
                                    [](const InterfaceAddress& a) { return !is_ipv6(a.ip); });
    if (has_v4) continue;
    const core::NicContext ctx;
    InterfacePlan nic = plan_nic(ctx, *link.mac, shared, options);
    nic.source = "MAC " + link.mac->to_string();
    plan.nics.push_back(nic);
  }
  return plan;
}

std::string to_string(const Operation& op) {
  switch (op.kind) {
    case OperationKind::SetMtu:
      return "link set " + op.ifname + " mtu " + std::to_string(op.mtu);
    case OperationKind::SetUp:
      return "link set " + op.ifname + " up";
    case OperationKind::AddAddress:
      return "addr add " + (op.address ? to_string(*op.address) : "?") + " dev " + op.ifname;
    case OperationKind::AddRoute:
      return "route add " + (op.route ? to_string(*op.route) : "?") + " dev " + op.ifname;
  }
  return "?";
}

Changes diff(const NetworkPlan& plan, const ObservedState& observed) {
  Changes out;
  for (const auto& nic : plan.nics) {
    if (nic.method == Method::Skip) continue;
    const Link* link = find_link(observed, nic.mac);
    if (!link) {
      out.warnings.push_back(nic.source + ": no interface with MAC " + nic.mac.to_string() +
                             "; NIC left unconfigured");
      continue;
    }
    diff_nic(nic, *link, observed, out);
  }
  return out;
}

}  // namespace cloudtwin::agent
