#pragma once
// A cloudtwin network as libvirt network XML, rendered and read back by pure functions.
// The network's settings live only in libvirt (gateway <ip>, DNS forwarders), so there
// is no second copy to drift. A bridge-mode network has no <ip> or <dns> (libvirt forbids
// them with <forward mode='bridge'/>): its facts go in its <metadata> element instead. Every
// mode keeps its MAC prefix there (libvirt has no field for it).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/core/mac_ip.hpp"
#include "cloudtwin/host/bridge_addresses.hpp"

namespace cloudtwin::host {

inline constexpr const char* kMetadataAddress = "169.254.169.254";
// IPv6 twin of kMetadataAddress (cloudtwin-metadata's default listener, the agent's
// fallback). On the bridge as a /128: no on-link prefix, so dnsmasq offers no RA or
// DHCPv6 for it.
inline constexpr const char* kMetadataAddress6 = "fd00:ec2::254";

// The <metadata> child element of cloudtwin networks.
inline constexpr const char* kNetworkNamespace = "https://cloudtwin.example.invalid/network/1";

// Nat and Isolated: a bridge of libvirt's own with dnsmasq (DHCP reservations, DNS).
// Bridge: VMs join an existing host bridge (the LAN's); no DHCP, no DNS from libvirt.
enum class NetworkMode { Nat, Isolated, Bridge };
std::string to_string(NetworkMode mode);  // "nat", "isolated", "bridge"

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
  std::string bridge;           // default: "ct-" + name, cut to 15 characters; bridge:BR: BR
  std::vector<DhcpHost> hosts;  // reservations (read back from libvirt); never in bridge mode
  // Kept in <metadata>, every mode: the MAC prefix of the VMs' NICs on it (--mac-prefix, else
  // host.conf's when the network was made). Unset (networks made before it was recorded):
  // host.conf's current prefix.
  std::optional<core::MacPrefix> mac_prefix;
  // Bridge mode only, kept in <metadata>: the metadata addresses on BR that belong to cloudtwin.
  std::vector<LinkAddress> owned_addresses;
  bool operator==(const NetworkSpec&) const = default;
  bool dhcp() const { return mode != NetworkMode::Bridge; }
};

// Builds a spec from `net create` options; throws Error(InvalidArgument) for bad values.
// mode: "nat" | "isolated" | "bridge:BR" (BR: an existing bridge, checked when created).
// In bridge mode the gateway is the LAN's router and `dns` the servers the VMs use.
// mac_prefix: --mac-prefix, checked by parse_mac_prefix_option; empty leaves it unset (the
// caller fills in host.conf's).
NetworkSpec make_network_spec(const std::string& name, const std::string& cidr,
                              const std::string& gateway, const std::string& dns,
                              const std::string& mode, const std::string& mac_prefix = "");

// `--mac-prefix XX:XX`: two hex bytes whose first is a locally administered unicast octet
// (bit 0x02 set, bit 0x01 clear), so derived MACs never collide with vendor-assigned ones
// nor are multicast. Throws Error(InvalidArgument) naming the option and the value.
core::MacPrefix parse_mac_prefix_option(const std::string& text);

std::string render_network_xml(const NetworkSpec& spec);
// Reads back a network this tool defined; throws Error(InvalidArgument) naming the network
// when the XML lacks an IPv4 <ip> with prefix or netmask, or (bridge mode) our <metadata>.
NetworkSpec parse_network_xml(std::string_view xml);
// The <metadata> child: in bridge mode the network's facts, else only its MAC prefix.
std::string render_network_metadata(const NetworkSpec& spec);
// The <host/> element for virNetworkUpdate(VIR_NETWORK_SECTION_IP_DHCP_HOST).
std::string render_dhcp_host_xml(const DhcpHost& host);

}  // namespace cloudtwin::host
