#pragma once
// A cloudtwin network as libvirt network XML, rendered and read back by pure functions.
// The network's settings live only in libvirt (gateway <ip>, DNS forwarders), so there
// is no second copy to drift.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/core/mac_ip.hpp"

namespace cloudtwin::host {

inline constexpr const char* kMetadataAddress = "169.254.169.254";
// IPv6 twin of kMetadataAddress (cloudtwin-metadata's default listener, the agent's
// fallback). On the bridge as a /128: no on-link prefix, so dnsmasq offers no RA or
// DHCPv6 for it.
inline constexpr const char* kMetadataAddress6 = "fd00:ec2::254";

enum class NetworkMode { Nat, Isolated };

struct DhcpHost {
  core::Mac mac;
  core::Ipv4 ip;
  std::string name;
  auto operator<=>(const DhcpHost&) const = default;
};

struct NetworkSpec {
  std::string name;
  core::Ipv4Cidr cidr;
  core::Ipv4 gateway;            // the bridge's address; default: first host address
  std::vector<std::string> dns;  // forwarders; the guests' DNS is the gateway
  NetworkMode mode = NetworkMode::Nat;
  std::string bridge;           // default: "ct-" + name, cut to 15 characters
  std::vector<DhcpHost> hosts;  // reservations (read back from libvirt)
  bool operator==(const NetworkSpec&) const = default;
};

// Builds a spec from `net create` options; throws Error(InvalidArgument) for bad values.
// mode: "nat" | "isolated" (bridge:BR is not supported yet).
NetworkSpec make_network_spec(const std::string& name, const std::string& cidr,
                              const std::string& gateway, const std::string& dns,
                              const std::string& mode);

std::string render_network_xml(const NetworkSpec& spec);
// Reads back a network this tool defined; throws Error(InvalidArgument) naming the network
// when the XML lacks an IPv4 <ip> with prefix or netmask.
NetworkSpec parse_network_xml(std::string_view xml);
// The <host/> element for virNetworkUpdate(VIR_NETWORK_SECTION_IP_DHCP_HOST).
std::string render_dhcp_host_xml(const DhcpHost& host);

// Escapes text for XML element content and attribute values.
std::string xml_escape(std::string_view text);

}  // namespace cloudtwin::host
