#include "cloudtwin/agent/nocloud.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>
#include <string>
#include <thread>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::agent {

namespace {

[[noreturn]] void bad(const std::string& source, const YAML::Node& n, const std::string& what) {
  const auto m = n.Mark();
  throw ParseError(ErrorCode::ContextBadValue, source, static_cast<std::size_t>(m.line + 1),
                   static_cast<std::size_t>(m.column + 1), what);
}

YAML::Node load(std::string_view text, const std::string& source) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw ParseError(ErrorCode::ContextSyntax, source, static_cast<std::size_t>(e.mark.line + 1),
                     static_cast<std::size_t>(e.mark.column + 1), e.msg);
  }
}

std::string str(const YAML::Node& n, const std::string& source, const std::string& key) {
  if (!n.IsScalar()) bad(source, n, key + ": expected a string");
  return n.as<std::string>();
}

std::vector<std::string> list(const YAML::Node& n, const std::string& source,
                              const std::string& key) {
  std::vector<std::string> out;
  if (!n) return out;
  if (n.IsScalar()) {
    out.push_back(n.as<std::string>());
    return out;
  }
  if (!n.IsSequence()) bad(source, n, key + ": expected a list");
  for (const auto& item : n) out.push_back(str(item, source, key));
  return out;
}

IpAddress ip(const std::string& text) {
  if (text.find(':') != std::string::npos) return core::Ipv6::parse(text);
  return core::Ipv4::parse(text);
}

// "192.168.1.6/24", "2001:db8::5/64", or a bare address with `netmask` / default length.
InterfaceAddress cidr(const std::string& text, const std::string& netmask) {
  const auto slash = text.find('/');
  InterfaceAddress a{ip(text.substr(0, slash)), 0};
  if (slash != std::string::npos) {
    const std::string len = text.substr(slash + 1);
    const int max = is_ipv6(a.ip) ? 128 : 32;
    int value = -1;
    const auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), value);
    if (len.empty() || len.size() > 3 || ec != std::errc{} || end != len.data() + len.size() ||
        value < 0 || value > max)
      throw std::invalid_argument("'" + text + "': prefix length must be 0.." +
                                  std::to_string(max));
    a.prefix_length = value;
  } else if (!netmask.empty())
    a.prefix_length = core::prefix_length_from_netmask(core::Ipv4::parse(netmask));
  else
    a.prefix_length = is_ipv6(a.ip) ? 64 : 24;
  return a;
}

RouteSpec route(const std::string& to, const std::string& via) {
  RouteSpec r;
  const bool v6 = to.find(':') != std::string::npos || via.find(':') != std::string::npos;
  if (to == "default" || to == "0.0.0.0/0" || to == "::/0") {
    r.destination = v6 ? IpAddress(core::Ipv6{}) : IpAddress(core::Ipv4{});
  } else {
    const auto a = cidr(to, "");
    r.destination = a.ip;
    r.prefix_length = a.prefix_length;
  }
  if (!via.empty()) r.gateway = ip(via);
  return r;
}

// Wraps value errors from the address parsers with the YAML position.
template <typename F>
auto at(const YAML::Node& n, const std::string& source, const std::string& key, F&& f) {
  try {
    return f();
  } catch (const ParseError&) {
    throw;
  } catch (const std::exception& e) {
    bad(source, n, key + ": " + e.what());
  }
}

void v2_nic(const std::string& name, const YAML::Node& n, const std::string& src,
            NetworkPlan& plan) {
  if (!n["match"] || !n["match"]["macaddress"]) {
    plan.warnings.push_back(src + ": ethernets." + name + " has no match.macaddress; left out");
    return;
  }
  const auto mac = n["match"]["macaddress"];
  InterfacePlan nic;
  nic.source = src + " " + name;
  nic.mac = at(mac, src, name + ".match.macaddress",
               [&] { return core::Mac::parse(str(mac, src, name)); });
  const auto flag = [&](const char* k) { return n[k] && n[k].IsScalar() && n[k].as<bool>(); };
  if (flag("dhcp4")) nic.method = Method::Dhcp;
  nic.ipv6_autoconf = flag("dhcp6") || flag("accept-ra");
  if (n["mtu"]) nic.mtu = at(n["mtu"], src, name + ".mtu", [&] { return n["mtu"].as<int>(); });
  for (const auto& a : list(n["addresses"], src, name + ".addresses"))
    nic.addresses.push_back(
        at(n["addresses"], src, name + ".addresses", [&] { return cidr(a, ""); }));
  for (const char* k : {"gateway4", "gateway6"}) {
    if (n[k])
      nic.routes.push_back(
          at(n[k], src, name + "." + k, [&] { return route("default", str(n[k], src, k)); }));
  }
  if (n["routes"]) {
    for (const auto& r : n["routes"]) {
      nic.routes.push_back(at(r, src, name + ".routes", [&] {
        return route(str(r["to"], src, "to"), r["via"] ? str(r["via"], src, "via") : "");
      }));
    }
  }
  if (const auto ns = n["nameservers"]) {
    nic.dns = list(ns["addresses"], src, name + ".nameservers.addresses");
    nic.search_domains = list(ns["search"], src, name + ".nameservers.search");
  }
  plan.nics.push_back(nic);
}

void v1_entry(const YAML::Node& e, const std::string& src, NetworkPlan& plan,
              std::vector<std::string>& dns, std::vector<std::string>& search) {
  const auto type = e["type"] ? str(e["type"], src, "type") : "";
  if (type == "nameserver") {
    for (const auto& d : list(e["address"], src, "nameserver.address")) dns.push_back(d);
    for (const auto& s : list(e["search"], src, "nameserver.search")) search.push_back(s);
    return;
  }
  const auto name = e["name"] ? str(e["name"], src, "name") : type;
  if (type != "physical") {
    plan.warnings.push_back(src + ": config entry '" + name + "' of type '" + type +
                            "' not supported; left out");
    return;
  }
  if (!e["mac_address"]) {
    plan.warnings.push_back(src + ": " + name + " has no mac_address; left out");
    return;
  }
  InterfacePlan nic;
  nic.source = src + " " + name;
  nic.mac = at(e, src, name + ".mac_address",
               [&] { return core::Mac::parse(str(e["mac_address"], src, name)); });
  if (e["mtu"]) nic.mtu = at(e["mtu"], src, name + ".mtu", [&] { return e["mtu"].as<int>(); });
  for (const auto& s : e["subnets"]) {
    const auto st = s["type"] ? str(s["type"], src, "subnets.type") : "static";
    if (st == "dhcp" || st == "dhcp4") nic.method = Method::Dhcp;
    if (st == "dhcp6" || st == "ipv6_slaac") nic.ipv6_autoconf = true;
    if (st != "static" && st != "static6") continue;
    at(s, src, name + ".subnets", [&] {
      nic.addresses.push_back(cidr(str(s["address"], src, "address"),
                                   s["netmask"] ? str(s["netmask"], src, "netmask") : ""));
      if (s["gateway"]) nic.routes.push_back(route("default", str(s["gateway"], src, "gateway")));
      for (const auto& r : s["routes"]) {
        auto dst = str(r["network"], src, "network");
        if (r["prefix"]) dst += "/" + str(r["prefix"], src, "prefix");
        const auto spec = cidr(dst, r["netmask"] ? str(r["netmask"], src, "netmask") : "");
        nic.routes.push_back(
            route(to_string(spec), r["gateway"] ? str(r["gateway"], src, "gateway") : ""));
      }
      return 0;
    });
    for (const auto& d : list(s["dns_nameservers"], src, "dns_nameservers")) nic.dns.push_back(d);
    for (const auto& d : list(s["dns_search"], src, "dns_search")) nic.search_domains.push_back(d);
  }
  plan.nics.push_back(nic);
}

}  // namespace

NoCloudMetaData parse_nocloud_meta_data(std::string_view text, const std::string& source) {
  const auto root = load(text, source);
  if (!root.IsMap()) bad(source, root, "meta-data: expected a mapping");
  NoCloudMetaData m;
  if (!root["instance-id"]) bad(source, root, "meta-data has no instance-id");
  m.instance_id = str(root["instance-id"], source, "instance-id");
  for (const char* k : {"local-hostname", "hostname"}) {
    if (root[k] && !m.local_hostname) m.local_hostname = str(root[k], source, k);
  }
  if (const auto keys = root["public-keys"]) {
    if (keys.IsMap()) {
      for (const auto& kv : keys) {
        for (const auto& k : list(kv.second, source, "public-keys")) m.public_keys.push_back(k);
      }
    } else {
      m.public_keys = list(keys, source, "public-keys");
    }
  }
  return m;
}

NetworkPlan parse_network_config(std::string_view text, const std::string& source,
                                 const PlanOptions& /*options*/) {
  auto root = load(text, source);
  if (root.IsMap() && root["network"]) root = root["network"];
  if (!root.IsMap()) bad(source, root, "network-config: expected a mapping");
  NetworkPlan plan;
  const auto version = root["version"] ? str(root["version"], source, "version") : "";
  try {
    if (version == "2") {
      if (const auto eth = root["ethernets"]) {
        for (const auto& kv : eth) v2_nic(kv.first.as<std::string>(), kv.second, source, plan);
      }
    } else if (version == "1") {
      std::vector<std::string> dns, search;
      for (const auto& e : root["config"]) v1_entry(e, source, plan, dns, search);
      // Global nameservers go to the first NIC, which is what the renderers then write.
      if (!plan.nics.empty()) {
        auto& n = plan.nics.front();
        n.dns.insert(n.dns.end(), dns.begin(), dns.end());
        n.search_domains.insert(n.search_domains.end(), search.begin(), search.end());
      }
    } else {
      bad(source, root, "network-config version '" + version + "': expected 1 or 2");
    }
  } catch (const YAML::Exception& e) {
    throw ParseError(ErrorCode::ContextBadValue, source, static_cast<std::size_t>(e.mark.line + 1),
                     static_cast<std::size_t>(e.mark.column + 1), e.msg);
  }
  return plan;
}

NoCloudDatasource::NoCloudDatasource(DiskLocator& locator, Opener opener, ContextCdOptions options,
                                     Sleeper sleep)
    : locator_(locator),
      opener_(std::move(opener)),
      options_(std::move(options)),
      sleep_(std::move(sleep)) {
  if (!sleep_) sleep_ = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

std::optional<std::string> NoCloudDatasource::find_device() {
  if (options_.device) return options_.device;
  const std::string upper = core::upper(options_.label);
  for (int attempt = 1; attempt <= options_.attempts; ++attempt) {
    if (auto d = locator_.find_by_label(options_.label)) return d;
    if (upper != options_.label) {
      if (auto d = locator_.find_by_label(upper)) return d;
    }
    if (attempt < options_.attempts) sleep_(options_.retry_delay);
  }
  return std::nullopt;
}

bool NoCloudDatasource::probe() {
  const auto device = find_device();
  if (!device) return false;
  device_ = *device;
  auto disk = opener_(device_);
  const auto meta = disk->read_file("meta-data", options_.max_context_size);
  if (!meta)
    throw Error(ErrorCode::NotFound, "NoCloud seed " + device_ + " (volume '" + disk->volume_id() +
                                         "') has no meta-data file");
  meta_ = parse_nocloud_meta_data(*meta, device_ + ":meta-data");
  user_data_ = disk->read_file("user-data", options_.max_file_size);
  network_config_ = disk->read_file("network-config", options_.max_context_size);
  return true;
}

NetworkPlan NoCloudDatasource::network_plan(const PlanOptions& options) const {
  if (!network_config_) return {};
  return parse_network_config(*network_config_, device_ + ":network-config", options);
}

}  // namespace cloudtwin::agent
