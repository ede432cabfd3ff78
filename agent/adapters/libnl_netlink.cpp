// The only file of the agent that includes libnl (its handles: cloudtwin/netlink).
#include "cloudtwin/agent/adapters/libnl_netlink.hpp"

#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <netlink/route/nexthop.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/netlink/nl_handles.hpp"

namespace cloudtwin::agent {

namespace {

using nl::fail;
using nl::for_each;

// nl_addr -> our address; a zero-length address (the default route's destination) is
// the family's zero address.
std::optional<IpAddress> to_ip(const nl_addr* a) {
  if (!a) return std::nullopt;
  const auto* bytes = static_cast<const std::uint8_t*>(nl_addr_get_binary_addr(a));
  const unsigned len = nl_addr_get_len(a);
  switch (nl_addr_get_family(a)) {
    case AF_INET: {
      core::Ipv4 v4;
      if (len == 4)
        std::copy_n(bytes, 4, v4.bytes.begin());
      else if (len != 0)
        return std::nullopt;
      return v4;
    }
    case AF_INET6: {
      core::Ipv6 v6;
      if (len == 16)
        std::copy_n(bytes, 16, v6.bytes.begin());
      else if (len != 0)
        return std::nullopt;
      return v6;
    }
    default:
      return std::nullopt;
  }
}

nl::Addr to_nl(const IpAddress& ip, int prefix_length) {
  nl_addr* a = nullptr;
  if (const auto* v4 = std::get_if<core::Ipv4>(&ip)) {
    a = nl_addr_build(AF_INET, v4->bytes.data(), v4->bytes.size());
  } else {
    const auto& v6 = std::get<core::Ipv6>(ip);
    a = nl_addr_build(AF_INET6, v6.bytes.data(), v6.bytes.size());
  }
  if (!a) throw Error(ErrorCode::System, "out of memory building a netlink address");
  nl_addr_set_prefixlen(a, prefix_length);
  return nl::Addr(a);
}

class LibnlNetlink : public Netlink {
 public:
  LibnlNetlink() : sock_(nl::route_socket()) {}

  ObservedState observe() override {
    ObservedState state;
    read_links(state);
    read_addresses(state);
    read_routes(state);
    return state;
  }

  void apply(const Operation& op) override {
    int err = 0;
    switch (op.kind) {
      case OperationKind::SetUp:
      case OperationKind::SetMtu:
        err = change_link(op);
        break;
      case OperationKind::AddAddress:
        err = add_address(op);
        break;
      case OperationKind::AddRoute:
        err = add_route(op);
        break;
    }
    if (err < 0 && err != -NLE_EXIST) fail(to_string(op), err);
  }

 private:
  nl::Cache cache(int (*alloc)(nl_sock*, nl_cache**), const char* what) {
    return nl::dump(sock_.get(), alloc, std::string("cannot read ") + what);
  }

  Link* find(ObservedState& state, int ifindex) {
    for (auto& l : state.links) {
      if (l.ifindex == ifindex) return &l;
    }
    return nullptr;
  }

  void read_links(ObservedState& state) {
    auto links = cache(
        [](nl_sock* s, nl_cache** c) { return rtnl_link_alloc_cache(s, AF_UNSPEC, c); }, "links");
    for_each<rtnl_link>(links.get(), [&](rtnl_link* l) {
      Link link;
      link.ifindex = rtnl_link_get_ifindex(l);
      const char* name = rtnl_link_get_name(l);
      link.name = name ? name : "";
      link.up = (rtnl_link_get_flags(l) & IFF_UP) != 0;
      link.mtu = static_cast<int>(rtnl_link_get_mtu(l));
      const nl_addr* hw = rtnl_link_get_addr(l);
      if (hw && nl_addr_get_len(hw) == 6) {
        core::Mac mac;
        std::memcpy(mac.bytes.data(), nl_addr_get_binary_addr(hw), 6);
        if (mac != core::Mac{}) link.mac = mac;
      }
      state.links.push_back(std::move(link));
    });
    std::sort(state.links.begin(), state.links.end(),
              [](const Link& a, const Link& b) { return a.ifindex < b.ifindex; });
  }

  void read_addresses(ObservedState& state) {
    auto addrs = cache(rtnl_addr_alloc_cache, "addresses");
    for_each<rtnl_addr>(addrs.get(), [&](rtnl_addr* a) {
      Link* link = find(state, rtnl_addr_get_ifindex(a));
      const auto ip = to_ip(rtnl_addr_get_local(a));
      if (link && ip) link->addresses.push_back({*ip, rtnl_addr_get_prefixlen(a)});
    });
  }

  void read_routes(ObservedState& state) {
    auto routes =
        cache([](nl_sock* s, nl_cache** c) { return rtnl_route_alloc_cache(s, AF_UNSPEC, 0, c); },
              "routes");
    for_each<rtnl_route>(routes.get(), [&](rtnl_route* r) {
      if (rtnl_route_get_table(r) != RT_TABLE_MAIN || rtnl_route_get_type(r) != RTN_UNICAST) return;
      const nl_addr* dst = rtnl_route_get_dst(r);
      const auto destination = to_ip(dst);
      if (!destination) return;
      for (int i = 0; i < rtnl_route_get_nnexthops(r); ++i) {
        rtnl_nexthop* nh = rtnl_route_nexthop_n(r, i);
        Link* link = find(state, rtnl_route_nh_get_ifindex(nh));
        if (!link) continue;
        RouteSpec spec{*destination, static_cast<int>(nl_addr_get_prefixlen(dst)),
                       to_ip(rtnl_route_nh_get_gateway(nh))};
        link->routes.push_back(spec);
      }
    });
  }

  int change_link(const Operation& op) {
    rtnl_link* raw = nullptr;
    if (const int err = rtnl_link_get_kernel(sock_.get(), op.ifindex, nullptr, &raw); err < 0)
      return err;
    const nl::Link orig(raw);
    const nl::Link change(rtnl_link_alloc());
    if (!change) return -NLE_NOMEM;
    if (op.kind == OperationKind::SetUp)
      rtnl_link_set_flags(change.get(), IFF_UP);
    else
      rtnl_link_set_mtu(change.get(), static_cast<unsigned>(op.mtu));
    return rtnl_link_change(sock_.get(), orig.get(), change.get(), 0);
  }

  int add_address(const Operation& op) {
    const nl::LinkAddr a(rtnl_addr_alloc());
    if (!a) return -NLE_NOMEM;
    const auto local = to_nl(op.address->ip, op.address->prefix_length);
    rtnl_addr_set_ifindex(a.get(), op.ifindex);
    if (const int err = rtnl_addr_set_local(a.get(), local.get()); err < 0) return err;
    rtnl_addr_set_prefixlen(a.get(), op.address->prefix_length);
    return rtnl_addr_add(sock_.get(), a.get(), NLM_F_EXCL);
  }

  int add_route(const Operation& op) {
    const auto& spec = *op.route;
    const nl::Route r(rtnl_route_alloc());
    if (!r) return -NLE_NOMEM;
    const auto dst = to_nl(spec.destination, spec.prefix_length);
    rtnl_route_set_family(r.get(), static_cast<std::uint8_t>(nl_addr_get_family(dst.get())));
    rtnl_route_set_table(r.get(), RT_TABLE_MAIN);
    rtnl_route_set_protocol(r.get(), RTPROT_STATIC);
    rtnl_route_set_type(r.get(), RTN_UNICAST);
    rtnl_route_set_scope(r.get(), spec.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
    if (const int err = rtnl_route_set_dst(r.get(), dst.get()); err < 0) return err;
    rtnl_nexthop* nh = rtnl_route_nh_alloc();
    if (!nh) return -NLE_NOMEM;
    rtnl_route_nh_set_ifindex(nh, op.ifindex);
    if (spec.gateway) {
      const auto gw = to_nl(*spec.gateway, is_ipv6(*spec.gateway) ? 128 : 32);
      rtnl_route_nh_set_gateway(nh, gw.get());
    }
    rtnl_route_add_nexthop(r.get(), nh);  // the route owns the nexthop from here
    return rtnl_route_add(sock_.get(), r.get(), NLM_F_EXCL);
  }

  nl::Socket sock_;
};

}  // namespace

std::unique_ptr<Netlink> make_libnl_netlink() { return std::make_unique<LibnlNetlink>(); }

}  // namespace cloudtwin::agent
