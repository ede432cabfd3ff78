#include "cloudtwin/host/inventory.hpp"

#include <algorithm>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/names.hpp"
#include "cloudtwin/record/element.hpp"

namespace cloudtwin::host {
namespace {

[[noreturn]] void bad(const std::string& message) {
  throw Error(ErrorCode::InvalidArgument, message);
}

bool is_scheme_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

}  // namespace

void check_host_name(const std::string& name) {
  if (!core::is_plain_name(name, 63)) {
    bad("host name '" + name +
        "' is not a plain name (1 to 63 of A-Z a-z 0-9 . _ -, not starting with . or -)");
  }
  if (name == "local" || name == "ec2") {
    bad("host name '" + name + "' is taken by the built-in " + name +
        " host; choose another name (e.g. kvm1)");
  }
}

void check_host_uri(const std::string& uri) {
  const auto sep = uri.find("://");
  if (sep == std::string::npos || sep == 0) {
    bad("host URI '" + uri + "' is not a libvirt URI (e.g. qemu+ssh://root@kvm1/system)");
  }
  const auto scheme = uri.substr(0, sep);
  if (!std::all_of(scheme.begin(), scheme.end(), is_scheme_char) || scheme.front() == '+') {
    bad("host URI '" + uri + "' has a bad scheme '" + scheme + "'");
  }
  if (uri.find('/', sep + 3) == std::string::npos) {
    bad("host URI '" + uri + "' has no path (qemu URIs end in /system or /session)");
  }
  for (const char c : uri) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '\'' || c == '"' || c == '\\') {
      bad("host URI '" + uri + "' contains a space, a quote or a control character");
    }
  }
}

Lease first_free_lease(const InventoryNetwork& n, const std::vector<std::uint32_t>& used) {
  const auto first = n.cidr.network().to_u32();
  const auto last = n.cidr.broadcast().to_u32();
  const auto gateway = n.gateway.to_u32();
  // `used` ascends: walk it beside the candidates, so the cost is one pass at most.
  auto it = std::lower_bound(used.begin(), used.end(), first);
  for (std::uint64_t a = first; a <= last; ++a) {
    const auto ip = static_cast<std::uint32_t>(a);
    while (it != used.end() && *it < ip) ++it;
    const bool taken = it != used.end() && *it == ip;
    if (taken || ip == first || ip == last || ip == gateway) continue;
    const auto addr = core::Ipv4::from_u32(ip);
    return {n.name, addr, core::mac_from_ipv4(addr, n.mac_prefix), "", ""};
  }
  bad("network '" + n.name + "' has no free address in " + n.cidr.to_string() + " (" +
      std::to_string(used.size()) + " leased); delete a VM or create a larger network");
}

std::vector<VmSummary> summaries_of(const std::vector<DomainInfo>& domains) {
  std::vector<VmSummary> out;
  for (const auto& d : domains) {
    VmSummary s{d.name, d.active ? VmState::Running : VmState::Stopped, std::nullopt};
    if (d.record_element) {
      try {
        s.record = record::instance_from_element(*d.record_element, "domain '" + d.name + "'");
      } catch (const Error&) {  // listed as not cloudtwin's rather than failing the list
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<Lease> leases_from_domains(const std::string& host, const std::vector<VmSummary>& vms,
                                       const std::vector<InventoryNetwork>& networks) {
  std::vector<Lease> out;
  for (const auto& v : vms) {
    if (!v.record) continue;  // not cloudtwin's
    for (const auto& nic : v.record->nics()) {
      const auto n = std::find_if(networks.begin(), networks.end(),
                                  [&](const auto& x) { return x.name == nic.network; });
      if (n == networks.end() || !n->cidr.contains(nic.ip)) continue;
      out.push_back({nic.network, nic.ip, nic.mac, v.name, host});
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cloudtwin::host
