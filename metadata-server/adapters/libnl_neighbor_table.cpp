// Adapter: the kernel's neighbour table through libnl-route (one dump per call).
#include "cloudtwin/metadata/libnl_neighbor_table.hpp"

#include <linux/neighbour.h>
#include <net/if.h>

#include <string>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"
#include "cloudtwin/netlink/nl_handles.hpp"

namespace cloudtwin::metadata {

namespace {

constexpr const char* kWhat = "cannot read the neighbour table";

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
  const nl::Addr dst(raw_dst);

  const auto sock = nl::route_socket(kWhat);
  const auto cache = nl::dump(sock.get(), rtnl_neigh_alloc_cache, std::string(kWhat) + ": dump");

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
    out.push_back(core::lower(nl_addr2str(ll, buf, sizeof buf)));
  }
  return out;
}

}  // namespace cloudtwin::metadata
