// LinkAddresses over libnl-route-3: the only file of the host module that includes libnl.
// Never runs `ip`.
#include <linux/if_addr.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/mac_ip.hpp"
#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/netlink/nl_handles.hpp"

namespace cloudtwin::host {
namespace {

using nl::fail;

std::optional<LinkAddress> to_link_address(const nl_addr* a, int prefix_length) {
  if (a == nullptr) return std::nullopt;
  const auto* bytes = static_cast<const std::uint8_t*>(nl_addr_get_binary_addr(a));
  const unsigned len = nl_addr_get_len(a);
  if (nl_addr_get_family(a) == AF_INET && len == 4) {
    core::Ipv4 v4;
    std::copy_n(bytes, 4, v4.bytes.begin());
    return LinkAddress{v4.to_string(), prefix_length};
  }
  if (nl_addr_get_family(a) == AF_INET6 && len == 16) {
    core::Ipv6 v6;
    std::copy_n(bytes, 16, v6.bytes.begin());
    return LinkAddress{v6.to_string(), prefix_length};
  }
  return std::nullopt;
}

nl::Addr to_nl(const LinkAddress& a) {
  nl_addr* out = nullptr;
  if (a.ipv6()) {
    const auto v6 = core::Ipv6::parse(a.address);
    out = nl_addr_build(AF_INET6, v6.bytes.data(), v6.bytes.size());
  } else {
    const auto v4 = core::Ipv4::parse(a.address);
    out = nl_addr_build(AF_INET, v4.bytes.data(), v4.bytes.size());
  }
  if (out == nullptr) throw Error(ErrorCode::System, "out of memory building a netlink address");
  nl_addr_set_prefixlen(out, a.prefix_length);
  return nl::Addr(out);
}

class LibnlLinkAddresses final : public LinkAddresses {
 public:
  LibnlLinkAddresses() : sock_(nl::route_socket()) {}

  std::optional<ObservedLink> observe(const std::string& name) override {
    const auto link = find(name);
    if (!link) return std::nullopt;
    ObservedLink out;
    out.name = name;
    const char* kind = rtnl_link_get_type(link.get());
    out.bridge = kind != nullptr && std::strcmp(kind, "bridge") == 0;
    const int ifindex = rtnl_link_get_ifindex(link.get());
    const auto addrs = nl::dump(sock_.get(), rtnl_addr_alloc_cache,
                                "cannot read the addresses of link '" + name + "'");
    nl::for_each<rtnl_addr>(addrs.get(), [&](rtnl_addr* a) {
      if (rtnl_addr_get_ifindex(a) != ifindex) return;
      if (auto la = to_link_address(rtnl_addr_get_local(a), rtnl_addr_get_prefixlen(a)))
        out.addresses.push_back(std::move(*la));
    });
    std::sort(out.addresses.begin(), out.addresses.end());
    return out;
  }

  void apply(const AddressOp& op) override {
    const bool add = op.kind == AddressOpKind::Add;
    const auto link = find(op.link);
    if (!link) {
      if (!add) return;  // the bridge is gone, and its addresses with it
      throw Error(ErrorCode::NotFound,
                  "cannot " + op.to_string() + ": no link named '" + op.link + "'");
    }
    const nl::LinkAddr a(rtnl_addr_alloc());
    if (!a) throw Error(ErrorCode::System, "out of memory building a netlink address");
    const auto local = to_nl(op.address);
    rtnl_addr_set_ifindex(a.get(), rtnl_link_get_ifindex(link.get()));
    if (const int err = rtnl_addr_set_local(a.get(), local.get()); err < 0)
      fail("cannot " + op.to_string(), err);
    rtnl_addr_set_prefixlen(a.get(), op.address.prefix_length);
    // No duplicate address detection: the address is the same on every host's bridge by
    // design, and cloudtwin-metadata must be able to bind it at once.
    if (op.address.ipv6()) rtnl_addr_set_flags(a.get(), IFA_F_NODAD);
    const int err = add ? rtnl_addr_add(sock_.get(), a.get(), NLM_F_EXCL)
                        : rtnl_addr_delete(sock_.get(), a.get(), 0);
    if (err >= 0 || (add && err == -NLE_EXIST) || (!add && err == -NLE_NOADDR)) return;
    fail("cannot " + op.to_string(), err);
  }

 private:
  nl::Link find(const std::string& name) {
    rtnl_link* raw = nullptr;
    const int err = rtnl_link_get_kernel(sock_.get(), 0, name.c_str(), &raw);
    if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return nullptr;
    if (err < 0) fail("cannot read link '" + name + "'", err);
    return nl::Link(raw);
  }

  nl::Socket sock_;
};

}  // namespace

std::unique_ptr<LinkAddresses> make_libnl_link_addresses() {
  return std::make_unique<LibnlLinkAddresses>();
}

}  // namespace cloudtwin::host
