// Adapter: the kernel's neighbour table through libnl-route (one dump per call).
#include "cloudtwin/metadata/libnl_neighbor_table.hpp"

#include <linux/neighbour.h>
#include <net/if.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/neighbour.h>

#include <cctype>
#include <memory>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::metadata {

namespace {

struct SockFree {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct CacheFree {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
struct AddrFree {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};

Error netlink_error(const std::string& what, int err) {
  return Error(ErrorCode::System,
               "cannot read the neighbour table: " + what + ": " + nl_geterror(err));
}

}  // namespace

std::vector<std::string> LibnlNeighborTable::macs(std::string_view device,
                                                  std::string_view address) {
  int ifindex = 0;
  if (!device.empty()) {
    ifindex = static_cast<int>(::if_nametoindex(std::string(device).c_str()));
    if (ifindex == 0)
      throw Error(ErrorCode::System,
                  "cannot read the neighbour table: no interface '" + std::string(device) + "'");
  }
  nl_addr* raw_dst = nullptr;
  if (nl_addr_parse(std::string(address).c_str(), AF_UNSPEC, &raw_dst) != 0)
    throw Error(ErrorCode::InvalidArgument, "'" + std::string(address) + "' is not an address");
  const std::unique_ptr<nl_addr, AddrFree> dst(raw_dst);

  const std::unique_ptr<nl_sock, SockFree> sock(nl_socket_alloc());
  if (!sock) throw Error(ErrorCode::System, "cannot read the neighbour table: out of memory");
  if (const int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
    throw netlink_error("connect", err);
  nl_cache* raw_cache = nullptr;
  if (const int err = rtnl_neigh_alloc_cache(sock.get(), &raw_cache); err < 0)
    throw netlink_error("dump", err);
  const std::unique_ptr<nl_cache, CacheFree> cache(raw_cache);

  std::vector<std::string> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o != nullptr; o = nl_cache_get_next(o)) {
    auto* n = reinterpret_cast<rtnl_neigh*>(o);
    if (ifindex != 0 && rtnl_neigh_get_ifindex(n) != ifindex) continue;
    const auto* d = rtnl_neigh_get_dst(n);
    if (d == nullptr || nl_addr_cmp(d, dst.get()) != 0) continue;
    const int state = rtnl_neigh_get_state(n);
    if (state < 0 || (state & (NUD_INCOMPLETE | NUD_FAILED | NUD_NOARP)) != 0) continue;
    const auto* ll = rtnl_neigh_get_lladdr(n);
    if (ll == nullptr || nl_addr_get_len(ll) != 6) continue;
    char buf[64];
    std::string mac = nl_addr2str(ll, buf, sizeof buf);
    for (auto& c : mac) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.push_back(std::move(mac));
  }
  return out;
}

}  // namespace cloudtwin::metadata
