#include "cloudtwin/host/network_xml.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/NodeList.h>
#include <Poco/Exception.h>

#include <sstream>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::host {
namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string item;
  for (char c : s + ",") {
    if (c == ',' || c == ' ') {
      if (!item.empty()) out.push_back(item);
      item.clear();
    } else {
      item.push_back(c);
    }
  }
  return out;
}

Poco::XML::Element* child(Poco::XML::Element* e, const std::string& name) {
  return e == nullptr ? nullptr : e->getChildElement(name);
}

// What the kernel accepts as an interface name (dev_valid_name), minus XML's specials.
void check_bridge_name(const std::string& bridge) {
  if (bridge.empty() || bridge.size() > 15 || bridge == "." || bridge == ".." ||
      bridge.find_first_of("/: \t\n'\"<>&") != std::string::npos) {
    throw Error(ErrorCode::InvalidArgument,
                "--mode bridge:" + bridge +
                    ": the bridge name must be 1-15 characters without / : ' \" < > & or spaces");
  }
}

int parse_prefix(const std::string& text, int max, const std::string& where) {
  if (text.empty() || text.size() > 3 ||
      text.find_first_not_of("0123456789") != std::string::npos || std::stoi(text) > max) {
    throw Error(ErrorCode::InvalidArgument, where + ": bad prefix length '" + text + "'");
  }
  return std::stoi(text);
}

// Our <metadata> child, or nullptr (a network made elsewhere, or before it was written).
Poco::XML::Element* our_metadata(Poco::XML::Element* root) {
  Poco::AutoPtr<Poco::XML::NodeList> found =
      root->getElementsByTagNameNS(kNetworkNamespace, "network");
  return found->length() == 0 ? nullptr : static_cast<Poco::XML::Element*>(found->item(0));
}

// Read back leniently: a prefix recorded by an older cloudtwin (host.conf's, unchecked) must
// keep working, so only the syntax is checked here, not parse_mac_prefix_option's bits.
void read_mac_prefix(Poco::XML::Element* md, NetworkSpec& s) {
  if (md->hasAttribute("mac-prefix"))
    s.mac_prefix = core::MacPrefix::parse(md->getAttribute("mac-prefix"));
}

std::string metadata_where(const NetworkSpec& s) {
  return "libvirt network '" + s.name + "' <metadata>";
}

// nat and isolated: the facts are in <ip> and <dns>; <metadata> holds only the MAC prefix.
void read_metadata_mac_prefix(Poco::XML::Element* root, NetworkSpec& s) {
  auto* md = our_metadata(root);
  if (md == nullptr) return;
  try {
    read_mac_prefix(md, s);
  } catch (const Error& e) {
    throw Error(ErrorCode::InvalidArgument, metadata_where(s) + ": " + e.what());
  }
}

// Bridge mode: the network's facts from our <metadata> child.
void read_bridge_metadata(Poco::XML::Element* root, NetworkSpec& s) {
  const auto where = metadata_where(s);
  auto* md = our_metadata(root);
  if (md == nullptr) {
    throw Error(ErrorCode::InvalidArgument,
                "libvirt network '" + s.name +
                    "' is in bridge mode without cloudtwin's <metadata>: it was not created by "
                    "cloudtwin");
  }
  try {
    s.cidr = core::Ipv4Cidr::parse(md->getAttribute("cidr"));
    s.cidr.address = s.cidr.network();
    s.gateway = core::Ipv4::parse(md->getAttribute("gateway"));
    read_mac_prefix(md, s);
    for (auto* n = md->firstChild(); n != nullptr; n = n->nextSibling()) {
      if (n->nodeType() != Poco::XML::Node::ELEMENT_NODE || n->namespaceURI() != kNetworkNamespace)
        continue;
      auto* e = static_cast<Poco::XML::Element*>(n);
      if (e->localName() == "dns") {
        s.dns.push_back(core::Ipv4::parse(e->getAttribute("address")).to_string());
      } else if (e->localName() == "owned-address") {
        const auto text = e->getAttribute("address");
        const bool v6 = text.find(':') != std::string::npos;
        s.owned_addresses.push_back(
            {v6 ? core::Ipv6::parse(text).to_string() : core::Ipv4::parse(text).to_string(),
             parse_prefix(e->getAttribute("prefix"), v6 ? 128 : 32, where)});
      }
    }
  } catch (const Error& e) {
    throw Error(ErrorCode::InvalidArgument, where + ": " + e.what());
  }
}

// The indented <metadata> element of the network XML.
std::string metadata_block(const NetworkSpec& s) {
  std::string out = "  <metadata>\n";
  std::istringstream md(render_network_metadata(s));
  for (std::string line; std::getline(md, line);) out += "    " + line + "\n";
  return out + "  </metadata>\n";
}

}  // namespace

core::MacPrefix parse_mac_prefix_option(const std::string& text) {
  core::MacPrefix prefix;
  try {
    prefix = core::MacPrefix::parse(text);
  } catch (const Error& e) {
    throw Error(ErrorCode::InvalidArgument,
                "--mac-prefix " + text + ": " + e.what() + "; write two hex bytes such as 02:00");
  }
  const auto first = prefix.bytes[0];
  const auto hex = prefix.to_string().substr(0, 2);
  const char* wrong = (first & 0x01) != 0 ? "is a multicast (group) octet: bit 0x01 is set"
                      : (first & 0x02) == 0
                          ? "is not locally administered: bit 0x02 is clear, so MACs could "
                            "clash with vendor-assigned ones"
                          : nullptr;
  if (wrong != nullptr) {
    throw Error(ErrorCode::InvalidArgument,
                "--mac-prefix " + text + ": the first byte " + hex + " " + wrong +
                    "; use a locally administered unicast first byte (bit 0x02 set, bit 0x01 "
                    "clear: x2, x6, xa or xe, such as 02, 0a, 52, fe)");
  }
  return prefix;
}

NetworkSpec make_network_spec(const std::string& name, const std::string& cidr,
                              const std::string& gateway, const std::string& dns,
                              const std::string& mode, const std::string& mac_prefix) {
  if (name.empty() || name.size() > 64 || name.find_first_of("/ '\"<>&") != std::string::npos) {
    throw Error(ErrorCode::InvalidArgument,
                "network name '" + name + "' is empty, too long or has / ' \" < > & or spaces");
  }
  NetworkSpec s;
  s.name = name;
  s.cidr = core::Ipv4Cidr::parse(cidr);
  s.cidr.address = s.cidr.network();
  if (s.cidr.prefix_length > 30) {
    throw Error(ErrorCode::InvalidArgument,
                "--cidr " + cidr + " leaves no room for VMs; use /30 or larger");
  }
  s.gateway = gateway.empty() ? core::Ipv4::from_u32(s.cidr.network().to_u32() + 1)
                              : core::Ipv4::parse(gateway);
  if (!s.cidr.contains(s.gateway) || s.gateway == s.cidr.network() ||
      s.gateway == s.cidr.broadcast()) {
    throw Error(ErrorCode::InvalidArgument, "--gateway " + s.gateway.to_string() +
                                                " is not a host address of " + s.cidr.to_string());
  }
  for (const auto& d : split_list(dns)) s.dns.push_back(core::Ipv4::parse(d).to_string());
  s.bridge = ("ct-" + name).substr(0, 15);
  if (mode.empty() || mode == "nat") {
    s.mode = NetworkMode::Nat;
  } else if (mode == "isolated") {
    s.mode = NetworkMode::Isolated;
  } else if (mode.rfind("bridge:", 0) == 0) {
    s.mode = NetworkMode::Bridge;
    s.bridge = mode.substr(7);
    check_bridge_name(s.bridge);
  } else {
    throw Error(ErrorCode::InvalidArgument,
                "--mode " + mode + " is not supported; use nat, isolated or bridge:BR");
  }
  if (!mac_prefix.empty()) s.mac_prefix = parse_mac_prefix_option(mac_prefix);
  return s;
}

std::string to_string(NetworkMode mode) {
  switch (mode) {
    case NetworkMode::Nat:
      return "nat";
    case NetworkMode::Isolated:
      return "isolated";
    case NetworkMode::Bridge:
      return "bridge";
  }
  return "?";
}

std::string render_dhcp_host_xml(const DhcpHost& host) {
  return "<host mac='" + host.mac.to_string() + "' name='" + core::xml_escape(host.name) +
         "' ip='" + host.ip.to_string() + "'/>";
}

std::string render_network_metadata(const NetworkSpec& s) {
  std::ostringstream x;
  x << "<cloudtwin:network xmlns:cloudtwin=\"" << kNetworkNamespace << "\"";
  const bool bridged = s.mode == NetworkMode::Bridge;
  if (bridged)
    x << " cidr=\"" << s.cidr.to_string() << "\" gateway=\"" << s.gateway.to_string() << "\"";
  if (s.mac_prefix) x << " mac-prefix=\"" << s.mac_prefix->to_string() << "\"";
  if (!bridged) {
    x << "/>\n";
    return x.str();
  }
  x << ">\n";
  for (const auto& d : s.dns) x << "  <cloudtwin:dns address=\"" << core::xml_escape(d) << "\"/>\n";
  for (const auto& a : s.owned_addresses) {
    x << "  <cloudtwin:owned-address address=\"" << core::xml_escape(a.address) << "\" prefix=\""
      << a.prefix_length << "\"/>\n";
  }
  x << "</cloudtwin:network>\n";
  return x.str();
}

std::string render_network_xml(const NetworkSpec& s) {
  std::ostringstream x;
  x << "<network>\n  <name>" << core::xml_escape(s.name) << "</name>\n";
  if (s.mode == NetworkMode::Bridge) {
    // libvirt forbids <ip>, <dns> and <dhcp> here: the facts go in <metadata>, and the
    // metadata addresses go on the bridge through netlink (bridge_addresses.hpp).
    x << metadata_block(s) << "  <forward mode='bridge'/>\n  <bridge name='"
      << core::xml_escape(s.bridge) << "'/>\n</network>\n";
    return x.str();
  }
  // libvirt has no field for it; a network made without one (older cloudtwin) has none.
  if (s.mac_prefix) x << metadata_block(s);
  if (s.mode == NetworkMode::Nat) x << "  <forward mode='nat'/>\n";
  x << "  <bridge name='" << core::xml_escape(s.bridge) << "' stp='on' delay='0'/>\n";
  if (!s.dns.empty()) {
    x << "  <dns>\n";
    for (const auto& d : s.dns) x << "    <forwarder addr='" << core::xml_escape(d) << "'/>\n";
    x << "  </dns>\n";
  }
  // No <range>: dnsmasq then serves only the reserved hosts (libvirt writes
  // dhcp-range=GATEWAY,static), so a guest without a reservation never gets an address
  // that `vm create` leases later. Reservations come and go with VMs (virNetworkUpdate).
  x << "  <ip address='" << s.gateway.to_string() << "' prefix='" << s.cidr.prefix_length << "'>\n"
    << "    <dhcp>\n";
  for (const auto& h : s.hosts) x << "      " << render_dhcp_host_xml(h) << "\n";
  x << "    </dhcp>\n  </ip>\n"
    << "  <ip address='" << kMetadataAddress
    << "' prefix='32'/>\n"
    // libvirt 9.0 checked in a sandbox: dnsmasq gets "dhcp-range=fd00:ec2::254,ra-only" but
    // sends no RA (a /128 matches no /64 RA context) and serves no DHCPv6. In nat mode
    // libvirt turns on IPv6 forwarding, and refuses to when the host's uplink has routes
    // learnt from RAs with accept_ra=1 (its message says to set accept_ra=2).
    << "  <ip family='ipv6' address='" << kMetadataAddress6 << "' prefix='128'/>\n"
    << "</network>\n";
  return x.str();
}

NetworkSpec parse_network_xml(std::string_view xml) {
  Poco::XML::DOMParser parser;
  Poco::AutoPtr<Poco::XML::Document> doc;
  try {
    doc = parser.parseString(std::string(xml));
  } catch (const Poco::Exception& e) {
    throw Error(ErrorCode::InvalidArgument,
                "libvirt network XML does not parse: " + e.displayText());
  }
  auto* root = doc->documentElement();
  NetworkSpec s;
  if (auto* n = child(root, "name")) s.name = n->innerText();
  const auto* forward = child(root, "forward");
  s.mode = forward == nullptr                          ? NetworkMode::Isolated
           : forward->getAttribute("mode") == "bridge" ? NetworkMode::Bridge
                                                       : NetworkMode::Nat;
  if (auto* b = child(root, "bridge")) s.bridge = b->getAttribute("name");
  if (s.mode == NetworkMode::Bridge) {
    read_bridge_metadata(root, s);
    return s;
  }
  read_metadata_mac_prefix(root, s);
  if (auto* d = child(root, "dns")) {
    Poco::AutoPtr<Poco::XML::NodeList> fw = d->getElementsByTagName("forwarder");
    for (unsigned long i = 0; i < fw->length(); ++i) {
      s.dns.push_back(static_cast<Poco::XML::Element*>(fw->item(i))->getAttribute("addr"));
    }
  }
  Poco::AutoPtr<Poco::XML::NodeList> ips = root->getElementsByTagName("ip");
  for (unsigned long i = 0; i < ips->length(); ++i) {
    auto* ip = static_cast<Poco::XML::Element*>(ips->item(i));
    const auto family = ip->getAttribute("family");
    if ((!family.empty() && family != "ipv4") || ip->getAttribute("address") == kMetadataAddress)
      continue;
    const auto address = core::Ipv4::parse(ip->getAttribute("address"));
    const auto prefix = ip->getAttribute("prefix");
    const auto mask = ip->getAttribute("netmask");
    const int len = !prefix.empty() ? std::stoi(prefix)
                    : !mask.empty() ? core::prefix_length_from_netmask(core::Ipv4::parse(mask))
                                    : -1;
    if (len < 0 || len > 32) break;
    s.gateway = address;
    s.cidr = core::Ipv4Cidr{address, len};
    s.cidr.address = s.cidr.network();
    Poco::AutoPtr<Poco::XML::NodeList> hosts = ip->getElementsByTagName("host");
    for (unsigned long h = 0; h < hosts->length(); ++h) {
      auto* he = static_cast<Poco::XML::Element*>(hosts->item(h));
      s.hosts.push_back({core::Mac::parse(he->getAttribute("mac")),
                         core::Ipv4::parse(he->getAttribute("ip")), he->getAttribute("name")});
    }
    return s;
  }
  throw Error(ErrorCode::InvalidArgument,
              "libvirt network '" + s.name +
                  "' has no IPv4 <ip address=... prefix=...>: it was not created by cloudtwin");
}

}  // namespace cloudtwin::host
