// The pure half of the EC2 datasource: listings, the NIC model, plans, backoff.
#include <algorithm>
#include <charconv>

#include "cloudtwin/agent/ec2.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::agent {

namespace {

using core::trim;

constexpr int kDefaultPrefixV6 = 64;  // EC2 subnets are /64

std::optional<std::string> file(const std::map<std::string, std::string>& files,
                                const std::string& name) {
  const auto it = files.find(name);
  if (it == files.end()) return std::nullopt;
  return it->second;
}

std::optional<core::Ipv4> first_host(const core::Ipv4Cidr& subnet) {
  if (subnet.prefix_length >= 31) return std::nullopt;
  return core::Ipv4::from_u32(subnet.network().to_u32() + 1);
}

bool mac_encodes(const Ec2Nic& nic) {
  return !nic.local_ipv4s.empty() && core::mac_has_prefix(nic.mac) &&
         core::ipv4_from_mac(nic.mac) == nic.local_ipv4s.front();
}

}  // namespace

std::string MetadataEndpoint::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

MetadataEndpoint parse_metadata_url(std::string_view url) {
  const std::string text(url);
  auto bad = [&](const std::string& why) -> MetadataEndpoint {
    throw Error(ErrorCode::InvalidArgument, "metadata URL '" + text + "': " + why);
  };
  if (url.starts_with("http://")) url.remove_prefix(7);
  if (url.ends_with("/")) url.remove_suffix(1);
  MetadataEndpoint ep;
  std::string_view port;
  if (url.starts_with("[")) {
    const auto close = url.find(']');
    if (close == std::string_view::npos) return bad("no ']' after the IPv6 address");
    ep.host = std::string(url.substr(1, close - 1));
    url.remove_prefix(close + 1);
    if (url.starts_with(":"))
      port = url.substr(1);
    else if (!url.empty())
      return bad("unexpected text after ']'");
  } else {
    const auto colon = url.find(':');
    ep.host = std::string(url.substr(0, colon));
    if (colon != std::string_view::npos) port = url.substr(colon + 1);
  }
  try {
    if (ep.host.find(':') != std::string::npos)
      core::Ipv6::parse(ep.host);
    else
      core::Ipv4::parse(ep.host);
  } catch (const Error&) {
    return bad("'" + ep.host + "' is not an IP address (names are never looked up)");
  }
  if (!port.empty()) {
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), ep.port);
    if (ec != std::errc{} || p != port.data() + port.size() || ep.port < 1 || ep.port > 65535)
      return bad("port '" + std::string(port) + "' is not 1-65535");
  }
  return ep;
}

std::vector<MetadataEndpoint> default_metadata_endpoints() {
  return {{"169.254.169.254", 80}, {"fd00:ec2::254", 80}};
}

std::vector<std::string> parse_listing(std::string_view body) {
  std::vector<std::string> out;
  while (!body.empty()) {
    const auto nl = body.find('\n');
    auto line = trim(body.substr(0, nl));
    if (!line.empty() && line.back() == '/') line.remove_suffix(1);
    if (!line.empty()) out.emplace_back(line);
    if (nl == std::string_view::npos) break;
    body.remove_prefix(nl + 1);
  }
  return out;
}

std::vector<std::string> public_key_indexes(std::string_view listing) {
  std::vector<std::string> out;
  for (const auto& entry : parse_listing(listing)) {
    const auto eq = entry.find('=');
    if (eq == 0 || eq == std::string::npos) continue;
    const auto index = entry.substr(0, eq);
    if (std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; }))
      out.push_back(index);
  }
  return out;
}

Ec2Nic parse_ec2_nic(std::string_view mac, const std::map<std::string, std::string>& files) {
  Ec2Nic nic;
  const std::string where = "network/interfaces/macs/" + std::string(mac) + "/";
  auto fail = [&](const std::string& name, const std::string& value, const std::string& why) {
    throw Error(ErrorCode::InvalidArgument,
                "EC2 metadata " + where + name + " '" + value + "': " + why);
  };
  try {
    nic.mac = core::Mac::parse(mac);
  } catch (const Error& e) {
    fail("", std::string(mac), e.what());
  }
  if (const auto dn = file(files, "device-number")) {
    const auto v = trim(*dn);
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), nic.device_number);
    if (ec != std::errc{} || p != v.data() + v.size() || nic.device_number < 0)
      fail("device-number", *dn, "expected a number");
  }
  auto each = [&](const char* name, auto&& f) {
    if (const auto body = file(files, name)) {
      for (const auto& line : parse_listing(*body)) {
        try {
          f(line);
        } catch (const Error& e) {
          fail(name, line, e.what());
        }
      }
    }
  };
  each("local-ipv4s",
       [&](const std::string& v) { nic.local_ipv4s.push_back(core::Ipv4::parse(v)); });
  each("ipv6s", [&](const std::string& v) { nic.ipv6s.push_back(core::Ipv6::parse(v)); });
  each("subnet-ipv4-cidr-block", [&](const std::string& v) {
    if (!nic.subnet_ipv4) nic.subnet_ipv4 = core::Ipv4Cidr::parse(v);
  });
  each("subnet-ipv6-cidr-blocks", [&](const std::string& v) {
    const auto slash = v.find('/');
    int len = -1;
    if (slash != std::string::npos) {
      core::Ipv6::parse(v.substr(0, slash));
      std::from_chars(v.data() + slash + 1, v.data() + v.size(), len);
    }
    if (len < 1 || len > 128) throw Error(ErrorCode::BadIpv6, "expected ADDRESS/LENGTH");
    if (!nic.subnet_ipv6_prefix_length) nic.subnet_ipv6_prefix_length = len;
  });
  return nic;
}

NetworkPlan plan_from_ec2(const Ec2Metadata& metadata, Ec2PrimaryMode primary) {
  NetworkPlan plan;
  plan.warnings = metadata.warnings;
  for (const auto& nic : metadata.nics) {
    InterfacePlan p;
    p.mac = nic.mac;
    p.source = "EC2 device-number " + std::to_string(nic.device_number);
    const bool is_primary = nic.device_number == 0;
    const bool dhcp = is_primary && (primary == Ec2PrimaryMode::Dhcp ||
                                     (primary == Ec2PrimaryMode::Auto && !mac_encodes(nic)));
    const int prefix4 = nic.subnet_ipv4 ? nic.subnet_ipv4->prefix_length : 32;
    if (!nic.subnet_ipv4 && !nic.local_ipv4s.empty()) {
      plan.warnings.push_back(p.source + " (" + nic.mac.to_string() +
                              "): no subnet-ipv4-cidr-block; addresses configured as /32");
    }
    p.method = dhcp ? Method::Dhcp : Method::Static;
    // Under DHCP the first address comes from the DHCP server; the others are ours to add.
    const std::size_t first = dhcp ? 1 : 0;
    for (std::size_t i = first; i < nic.local_ipv4s.size(); ++i)
      p.addresses.push_back({nic.local_ipv4s[i], prefix4});
    if (dhcp) {
      p.ipv6_autoconf = !nic.ipv6s.empty();
    } else {
      for (const auto& v6 : nic.ipv6s)
        p.addresses.push_back({v6, nic.subnet_ipv6_prefix_length.value_or(kDefaultPrefixV6)});
    }
    if (is_primary && !dhcp && nic.subnet_ipv4) {
      if (const auto gw = first_host(*nic.subnet_ipv4))
        p.routes.push_back(RouteSpec{core::Ipv4{}, 0, *gw});
    }
    plan.nics.push_back(std::move(p));
  }
  return plan;
}

NetworkPlan plan_metadata_fallback(const ObservedState& observed, const PlanOptions& options) {
  for (const auto& link : observed.links) {
    if (!link.mac) continue;  // lo and other links without an Ethernet address
    for (const auto& a : link.addresses) {
      if (!is_ipv6(a.ip)) return {};
    }
  }
  PlanOptions with_route = options;
  with_route.metadata_route = true;
  auto plan = plan_from_macs(observed, with_route);
  // One NIC is enough to reach the service, and the one with the lowest ifindex is the
  // first NIC of the VM; the datasource's plan configures the others.
  if (plan.nics.size() > 1) plan.nics.resize(1);
  return plan;
}

std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds first,
                                        std::chrono::milliseconds max) {
  auto d = first;
  for (int i = 1; i < attempt && d < max; ++i) d *= 2;
  return std::min(d, max);
}

}  // namespace cloudtwin::agent
