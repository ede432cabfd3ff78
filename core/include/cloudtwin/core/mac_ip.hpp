#pragma once
// Addresses and OpenNebula's MAC rule: MAC = 2-byte prefix (default 02:00) followed by
// the four bytes of the IPv4 address. 02:00:c0:a8:01:06 <-> 192.168.1.6.
// IPv6 addresses from a /64 prefix and a MAC by modified EUI-64 (RFC 4291 appendix A).

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace cloudtwin::core {

struct Ipv4 {
  std::array<std::uint8_t, 4> bytes{};

  // Strict dotted quad: four decimal numbers 0-255, no leading zeros, no spaces.
  static Ipv4 parse(std::string_view text);
  static Ipv4 from_u32(std::uint32_t host_order) noexcept;
  std::uint32_t to_u32() const noexcept;  // host byte order
  std::string to_string() const;
  auto operator<=>(const Ipv4&) const = default;
};

// An IPv4 network in CIDR form, e.g. 192.168.122.0/24.
struct Ipv4Cidr {
  Ipv4 address;
  int prefix_length = 32;

  static Ipv4Cidr parse(std::string_view text);  // "a.b.c.d/n"
  Ipv4 network() const noexcept;
  Ipv4 netmask() const noexcept;
  Ipv4 broadcast() const noexcept;
  bool contains(const Ipv4& ip) const noexcept;
  std::string to_string() const;
  auto operator<=>(const Ipv4Cidr&) const = default;
};

// Netmask <-> prefix length. Throws Error(BadIpv4) for a non-contiguous mask.
int prefix_length_from_netmask(const Ipv4& mask);
Ipv4 netmask_from_prefix_length(int prefix_length);

struct Ipv6 {
  std::array<std::uint8_t, 16> bytes{};
  static Ipv6 parse(std::string_view text);  // any RFC 4291 text form, no zone, no prefix
  std::string to_string() const;             // RFC 5952 canonical form
  auto operator<=>(const Ipv6&) const = default;
};

struct Mac {
  std::array<std::uint8_t, 6> bytes{};

  // Six pairs of hex digits separated by ':' (or all by '-'); case-insensitive.
  // Throws Error(BadMacLength) or Error(BadMacHex).
  static Mac parse(std::string_view text);
  std::string to_string() const;  // lowercase, colon-separated
  auto operator<=>(const Mac&) const = default;
};

struct MacPrefix {
  std::array<std::uint8_t, 2> bytes{0x02, 0x00};
  static MacPrefix parse(std::string_view text);  // "02:00"
  std::string to_string() const;
  auto operator<=>(const MacPrefix&) const = default;
};

inline constexpr MacPrefix kDefaultMacPrefix{};

Mac mac_from_ipv4(const Ipv4& ip, const MacPrefix& prefix = kDefaultMacPrefix) noexcept;
// Throws Error(BadMacPrefix) when the MAC does not start with the prefix.
Ipv4 ipv4_from_mac(const Mac& mac, const MacPrefix& prefix = kDefaultMacPrefix);
bool mac_has_prefix(const Mac& mac, const MacPrefix& prefix = kDefaultMacPrefix) noexcept;

// Modified EUI-64 interface identifier: flip the universal/local bit, insert ff:fe.
std::array<std::uint8_t, 8> eui64_interface_id(const Mac& mac) noexcept;
// The /64 prefix's first 8 bytes + the interface id. Only the first 64 bits of
// `prefix` are used, so "2001:db8:1:2::" and "2001:db8:1:2::9" give the same result.
Ipv6 ipv6_from_prefix_and_mac(const Ipv6& prefix, const Mac& mac) noexcept;
// Accepts "2001:db8::/64" or "2001:db8::"; throws Error(BadIpv6) for a length other than 64.
Ipv6 ipv6_from_prefix_and_mac(std::string_view prefix64, const Mac& mac);

}  // namespace cloudtwin::core
