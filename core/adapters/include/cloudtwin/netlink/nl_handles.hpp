#pragma once
// Owners for libnl-3 objects, shared by every adapter that talks rtnetlink (the agent's
// network, the host's bridge addresses, the metadata service's neighbour table).
// Header-only, in the target cloudtwin::nl: the core library itself never sees libnl.

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include <memory>
#include <string>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::nl {

template <typename T, void (*Release)(T*)>
struct Releaser {
  void operator()(T* p) const noexcept {
    if (p != nullptr) Release(p);
  }
};
template <typename T, void (*Release)(T*)>
using Handle = std::unique_ptr<T, Releaser<T, Release>>;

using Socket = Handle<nl_sock, nl_socket_free>;
using Cache = Handle<nl_cache, nl_cache_free>;
using Addr = Handle<nl_addr, nl_addr_put>;             // an address (IP or link-layer)
using Link = Handle<rtnl_link, rtnl_link_put>;         // a link object (ip link)
using LinkAddr = Handle<rtnl_addr, rtnl_addr_put>;     // an address on a link (ip addr)
using Route = Handle<rtnl_route, rtnl_route_put>;      // ip route
using Neighbour = Handle<rtnl_neigh, rtnl_neigh_put>;  // ip neigh

// Throws Error(System): "<what>: <libnl's reason>". `err` is libnl's negative code.
[[noreturn]] inline void fail(const std::string& what, int err) {
  throw Error(ErrorCode::System, what + ": " + nl_geterror(err));
}

// A socket connected to NETLINK_ROUTE. `context` prefixes the messages ("cannot read the
// neighbour table").
inline Socket route_socket(const std::string& context = {}) {
  const std::string prefix = context.empty() ? "" : context + ": ";
  Socket sock(nl_socket_alloc());
  if (!sock) throw Error(ErrorCode::System, prefix + "cannot allocate a netlink socket");
  if (const int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
    fail(prefix + "cannot connect to rtnetlink", err);
  return sock;
}

// One dump (rtnl_link_alloc_cache, rtnl_addr_alloc_cache, ...) into a cache the caller owns.
// `what` names it in the error ("cannot read links").
template <typename Alloc>
Cache dump(nl_sock* sock, Alloc alloc, const std::string& what) {
  nl_cache* raw = nullptr;
  if (const int err = alloc(sock, &raw); err < 0) fail(what, err);
  return Cache(raw);
}

// Calls f(T*) for each object of a cache (rtnl_link, rtnl_addr, rtnl_route, rtnl_neigh).
template <typename T, typename F>
void for_each(nl_cache* cache, F&& f) {
  for (nl_object* o = nl_cache_get_first(cache); o != nullptr; o = nl_cache_get_next(o))
    f(reinterpret_cast<T*>(o));  // NOLINT: libnl's objects are its cache's elements
}

}  // namespace cloudtwin::nl
