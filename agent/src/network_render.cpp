#include "cloudtwin/agent/network_render.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "cloudtwin/agent/access.hpp"
#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {

namespace {

constexpr const char* kHeader = "# Written by cloudtwin-agent from ";

std::string mac_id(const core::Mac& mac) {
  std::string out;
  for (const char c : mac.to_string()) {
    if (c != ':') out += c;
  }
  return out;
}

bool is_default(const RouteSpec& r) { return r.prefix_length == 0; }

bool has_v4(const InterfacePlan& nic) {
  return std::any_of(nic.addresses.begin(), nic.addresses.end(),
                     [](const InterfaceAddress& a) { return !is_ipv6(a.ip); });
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// A stable UUID per MAC: NetworkManager wants one, and a new one at every boot would
// make a new connection each time.
std::string uuid_for(const core::Mac& mac) {
  std::uint64_t h1 = 1469598103934665603ull, h2 = 1099511628211ull * 7;
  for (const auto b : mac.bytes) {
    h1 = (h1 ^ b) * 1099511628211ull;
    h2 = (h2 ^ b) * 1469598103934665603ull + 0x9e37;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-8%03llx-a%03llx-%012llx",
                static_cast<unsigned long long>(h1 >> 32),
                static_cast<unsigned long long>((h1 >> 16) & 0xffff),
                static_cast<unsigned long long>(h1 & 0xfff),
                static_cast<unsigned long long>(h2 >> 52),
                static_cast<unsigned long long>(h2 & 0xffffffffffffull));
  return buf;
}

std::string route_text(const RouteSpec& r) {
  return to_string(r.destination) + "/" + std::to_string(r.prefix_length);
}

}  // namespace

const char* to_string(Renderer r) noexcept {
  switch (r) {
    case Renderer::Networkd:
      return "networkd";
    case Renderer::Ifupdown:
      return "ifupdown";
    case Renderer::NetworkManager:
      return "networkmanager";
  }
  return "?";
}

namespace {

// A unit is enabled when `systemctl enable` left its link in one of these .wants folders
// (networkd: multi-user.target; NetworkManager and Debian's networking.service: the
// same), and not masked. An installed but disabled service does not run, so writing its
// configuration would leave the network to whatever does run.
bool enabled(const std::string& unit, const std::function<bool(const std::string&)>& exists,
             const std::function<bool(const std::string&)>& masked) {
  if (masked(unit)) return false;
  for (const char* target : {"multi-user", "network-online", "network", "sysinit"}) {
    if (exists(std::string("/etc/systemd/system/") + target + ".target.wants/" + unit)) return true;
  }
  return false;
}

bool any_exists(std::initializer_list<const char*> paths,
                const std::function<bool(const std::string&)>& exists) {
  return std::any_of(paths.begin(), paths.end(), [&](const char* p) { return exists(p); });
}

}  // namespace

std::optional<Renderer> choose_renderer(const std::string& configured,
                                        const std::function<bool(const std::string&)>& exists,
                                        const std::function<bool(const std::string&)>& masked) {
  if (configured == "networkd") return Renderer::Networkd;
  if (configured == "ifupdown") return Renderer::Ifupdown;
  if (configured == "networkmanager") return Renderer::NetworkManager;
  if (configured != "auto")
    throw Error(ErrorCode::InvalidArgument,
                "[network] renderer '" + configured +
                    "': expected auto, networkd, ifupdown or networkmanager");
  const bool systemd = any_exists({"/lib/systemd/systemd", "/usr/lib/systemd/systemd"}, exists);
  if (systemd &&
      any_exists({"/lib/systemd/systemd-networkd", "/usr/lib/systemd/systemd-networkd"}, exists) &&
      enabled("systemd-networkd.service", exists, masked))
    return Renderer::Networkd;
  if (systemd && any_exists({"/usr/sbin/NetworkManager"}, exists) &&
      enabled("NetworkManager.service", exists, masked))
    return Renderer::NetworkManager;
  if (!exists("/etc/network/interfaces")) return std::nullopt;
  // Under systemd ifupdown acts only through networking.service; without systemd (sysvinit,
  // busybox) the file is all there is to go by.
  if (systemd && !any_exists({"/sbin/ifup", "/usr/sbin/ifup"}, exists)) return std::nullopt;
  if (systemd && !enabled("networking.service", exists, masked)) return std::nullopt;
  return Renderer::Ifupdown;
}

Rendered render_networkd(const NetworkPlan& plan) {
  Rendered out;
  for (const auto& nic : plan.nics) {
    if (nic.method == Method::Skip) continue;
    std::string t = kHeader + nic.source + "; replaced at every boot.\n";
    t += "[Match]\nMACAddress=" + nic.mac.to_string() + "\n";
    if (nic.mtu) t += "\n[Link]\nMTUBytes=" + std::to_string(*nic.mtu) + "\n";
    t += "\n[Network]\n";
    if (nic.method == Method::Dhcp) t += "DHCP=ipv4\n";
    for (const auto& a : nic.addresses) t += "Address=" + to_string(a) + "\n";
    for (const auto& d : nic.dns) t += "DNS=" + d + "\n";
    if (!nic.search_domains.empty()) t += "Domains=" + join(nic.search_domains, " ") + "\n";
    t += std::string("IPv6AcceptRA=") + (nic.ipv6_autoconf ? "yes" : "no") + "\n";
    for (const auto& r : nic.routes) {
      t += "\n[Route]\n";
      if (!is_default(r)) t += "Destination=" + route_text(r) + "\n";
      if (r.gateway)
        t += "Gateway=" + to_string(*r.gateway) + "\n";
      else
        t += "Scope=link\n";
    }
    out.files.push_back(
        {"/etc/systemd/network/10-cloudtwin-" + mac_id(nic.mac) + ".network", t, 0644});
  }
  return out;
}

Rendered render_ifupdown(const NetworkPlan& plan, const ObservedState& observed) {
  Rendered out;
  std::string t = kHeader + std::string("the VM's context; replaced at every boot.\n");
  bool any = false;
  for (const auto& nic : plan.nics) {
    if (nic.method == Method::Skip) continue;
    std::string name;
    for (const auto& l : observed.links) {
      if (l.mac == nic.mac) name = l.name;
    }
    if (name.empty()) {
      out.warnings.push_back(nic.source + ": no interface with MAC " + nic.mac.to_string() +
                             ", so no ifupdown stanza (ifupdown needs its name)");
      continue;
    }
    any = true;
    const std::string method = nic.method == Method::Dhcp ? "dhcp"
                               : has_v4(nic)              ? "static"
                                                          : "manual";
    t += "\n# " + nic.source + " (" + nic.mac.to_string() + ")\nauto " + name + "\niface " + name +
         " inet " + method + "\n";
    // `local` already put the addresses on the link, and ifup's `ip addr add` then fails
    // with "File exists", failing networking.service at boot: start from an empty link.
    if (method == "static") t += "    pre-up ip -4 addr flush dev " + name + "\n";
    for (const auto& a : nic.addresses) {
      if (!is_ipv6(a.ip)) t += "    address " + to_string(a) + "\n";
    }
    if (nic.mtu) t += "    mtu " + std::to_string(*nic.mtu) + "\n";
    if (!nic.dns.empty()) t += "    dns-nameservers " + join(nic.dns, " ") + "\n";
    if (!nic.search_domains.empty()) t += "    dns-search " + join(nic.search_domains, " ") + "\n";
    // Every route as an `up` command in plan order: an on-link route to a gateway outside
    // the subnet must exist before the routes through it, which `gateway` cannot express.
    for (const auto& r : nic.routes) {
      if (is_ipv6(r.destination)) continue;
      t += "    up ip route replace " + (is_default(r) ? std::string("default") : route_text(r)) +
           (r.gateway ? " via " + to_string(*r.gateway) : std::string()) + " dev " + name + "\n";
    }
    const bool v6_static = std::any_of(nic.addresses.begin(), nic.addresses.end(),
                                       [](const InterfaceAddress& a) { return is_ipv6(a.ip); });
    if (v6_static) {
      t += "iface " + name + " inet6 static\n";
      for (const auto& a : nic.addresses) {
        if (is_ipv6(a.ip)) t += "    address " + to_string(a) + "\n";
      }
      for (const auto& r : nic.routes) {
        if (is_ipv6(r.destination) && is_default(r) && r.gateway)
          t += "    gateway " + to_string(*r.gateway) + "\n";
      }
    } else if (nic.ipv6_autoconf) {
      t += "iface " + name + " inet6 auto\n";
    }
  }
  if (any) out.files.push_back({"/etc/network/interfaces.d/cloudtwin", t, 0644});
  return out;
}

Rendered render_networkmanager(const NetworkPlan& plan) {
  Rendered out;
  for (const auto& nic : plan.nics) {
    if (nic.method == Method::Skip) continue;
    std::string t = kHeader + nic.source + "; replaced at every boot.\n";
    t += "[connection]\nid=cloudtwin " + nic.source + "\nuuid=" + uuid_for(nic.mac) +
         "\ntype=ethernet\nautoconnect=true\n\n[ethernet]\nmac-address=" + nic.mac.to_string() +
         "\n";
    if (nic.mtu) t += "mtu=" + std::to_string(*nic.mtu) + "\n";
    for (const bool v6 : {false, true}) {
      const bool any_addr =
          std::any_of(nic.addresses.begin(), nic.addresses.end(),
                      [&](const InterfaceAddress& a) { return is_ipv6(a.ip) == v6; });
      // IPv6 nobody asked for is left alone ("ignore"), as the kernel would.
      std::string method = any_addr ? "manual" : v6 ? "ignore" : "disabled";
      if (!v6 && nic.method == Method::Dhcp) method = "auto";
      if (v6 && nic.ipv6_autoconf) method = "auto";
      t += std::string("\n[") + (v6 ? "ipv6" : "ipv4") + "]\nmethod=" + method + "\n";
      int n = 0;
      for (const auto& a : nic.addresses) {
        if (is_ipv6(a.ip) == v6) t += "address" + std::to_string(++n) + "=" + to_string(a) + "\n";
      }
      n = 0;
      for (const auto& r : nic.routes) {
        if (is_ipv6(r.destination) != v6) continue;
        if (is_default(r) && r.gateway) {
          t += "gateway=" + to_string(*r.gateway) + "\n";
          continue;
        }
        t += "route" + std::to_string(++n) + "=" + route_text(r) +
             (r.gateway ? "," + to_string(*r.gateway) : std::string()) + "\n";
      }
      if (!v6 && !nic.dns.empty()) t += "dns=" + join(nic.dns, ";") + ";\n";
      if (!v6 && !nic.search_domains.empty())
        t += "dns-search=" + join(nic.search_domains, ";") + ";\n";
    }
    out.files.push_back(
        {"/etc/NetworkManager/system-connections/cloudtwin-" + mac_id(nic.mac) + ".nmconnection", t,
         0600});
  }
  return out;
}

std::optional<RenderedFile> render_dns(const NetworkPlan& plan, bool resolved) {
  std::vector<std::string> dns, search;
  for (const auto& nic : plan.nics) {
    for (const auto& d : nic.dns)
      if (std::find(dns.begin(), dns.end(), d) == dns.end()) dns.push_back(d);
    for (const auto& s : nic.search_domains)
      if (std::find(search.begin(), search.end(), s) == search.end()) search.push_back(s);
  }
  if (dns.empty()) return std::nullopt;
  const std::string header = std::string(kHeader) + "the VM's context; replaced at every boot.\n";
  if (resolved) {
    std::string t = header + "[Resolve]\nDNS=" + join(dns, " ") + "\n";
    if (!search.empty()) t += "Domains=" + join(search, " ") + "\n";
    return RenderedFile{"/etc/systemd/resolved.conf.d/cloudtwin.conf", t, 0644};
  }
  std::string t = header;
  for (const auto& d : dns) t += "nameserver " + d + "\n";
  if (!search.empty()) t += "search " + join(search, " ") + "\n";
  return RenderedFile{"/etc/resolv.conf", t, 0644};
}

std::vector<std::string> install_network_files(const std::filesystem::path& root,
                                               const std::vector<RenderedFile>& files) {
  std::vector<std::string> done;
  for (const auto& f : files) {
    const auto path = under_root(root, f.path);
    std::error_code ec;
    // A resolv.conf symlink (to a resolver's stub) is replaced, not written through.
    if (!std::filesystem::is_symlink(path, ec) && read_or_empty(path) == f.content) continue;
    std::filesystem::create_directories(path.parent_path());
    write_file_atomic(path, f.content, f.mode);
    done.push_back("wrote " + f.path);
  }
  return done;
}

}  // namespace cloudtwin::agent
