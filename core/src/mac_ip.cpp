#include "cloudtwin/core/mac_ip.hpp"

#include <arpa/inet.h>  // inet_pton/inet_ntop: pure text conversions, no sockets

#include <charconv>
#include <cstdio>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::core {

namespace {

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses N bytes written as hex pairs separated by one separator character.
template <std::size_t N>
std::array<std::uint8_t, N> parse_hex_bytes(std::string_view text, const char* what) {
  constexpr std::size_t expected = N * 3 - 1;
  if (text.size() != expected) {
    throw Error(ErrorCode::BadMacLength,
                std::string(what) + " " + quoted(text) + " has " + std::to_string(text.size()) +
                    " characters; expected " + std::to_string(expected) + " (" + std::to_string(N) +
                    " hex pairs separated by ':')");
  }
  const char sep = N > 1 ? text[2] : ':';
  if (sep != ':' && sep != '-') {
    throw Error(ErrorCode::BadMacHex,
                std::string(what) + " " + quoted(text) + ": separator must be ':' or '-'");
  }
  std::array<std::uint8_t, N> out{};
  for (std::size_t i = 0; i < N; ++i) {
    const std::size_t at = i * 3;
    const int hi = hex_value(text[at]);
    const int lo = hex_value(text[at + 1]);
    if (hi < 0 || lo < 0) {
      throw Error(ErrorCode::BadMacHex, std::string(what) + " " + quoted(text) +
                                            ": non-hex digit at position " +
                                            std::to_string(at + (hi < 0 ? 1 : 2)));
    }
    if (i + 1 < N && text[at + 2] != sep) {
      throw Error(ErrorCode::BadMacHex, std::string(what) + " " + quoted(text) + ": expected '" +
                                            std::string(1, sep) + "' at position " +
                                            std::to_string(at + 3));
    }
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

template <std::size_t N>
std::string format_hex_bytes(const std::array<std::uint8_t, N>& bytes) {
  std::string out;
  out.reserve(N * 3);
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < N; ++i) {
    if (i) out.push_back(':');
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0x0f]);
  }
  return out;
}

}  // namespace

Ipv4 Ipv4::parse(std::string_view text) {
  Ipv4 ip;
  std::size_t pos = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - start < 4) ++pos;
    const std::size_t len = pos - start;
    unsigned value = 0;
    const bool ok_digits = len >= 1 && len <= 3 && !(len > 1 && text[start] == '0');
    if (ok_digits) std::from_chars(text.data() + start, text.data() + pos, value);
    if (!ok_digits || value > 255) {
      throw Error(ErrorCode::BadIpv4, "IPv4 address " + quoted(text) +
                                          ": expected four numbers 0-255 separated by '.'");
    }
    ip.bytes[i] = static_cast<std::uint8_t>(value);
    if (i < 3) {
      if (pos >= text.size() || text[pos] != '.') {
        throw Error(ErrorCode::BadIpv4, "IPv4 address " + quoted(text) +
                                            ": expected four numbers 0-255 separated by '.'");
      }
      ++pos;
    }
  }
  if (pos != text.size()) {
    throw Error(ErrorCode::BadIpv4,
                "IPv4 address " + quoted(text) + ": unexpected text after the fourth number");
  }
  return ip;
}

Ipv4 Ipv4::from_u32(std::uint32_t v) noexcept {
  return Ipv4{{static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
               static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)}};
}

std::uint32_t Ipv4::to_u32() const noexcept {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
         (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

std::string Ipv4::to_string() const {
  return std::to_string(bytes[0]) + "." + std::to_string(bytes[1]) + "." +
         std::to_string(bytes[2]) + "." + std::to_string(bytes[3]);
}

Ipv4 netmask_from_prefix_length(int prefix_length) {
  if (prefix_length < 0 || prefix_length > 32) {
    throw Error(ErrorCode::BadIpv4,
                "prefix length " + std::to_string(prefix_length) + " is outside 0-32");
  }
  const std::uint32_t mask = prefix_length == 0 ? 0u : ~std::uint32_t{0} << (32 - prefix_length);
  return Ipv4::from_u32(mask);
}

int prefix_length_from_netmask(const Ipv4& mask) {
  const std::uint32_t m = mask.to_u32();
  const std::uint32_t inverted = ~m;
  if ((inverted & (inverted + 1)) != 0) {
    throw Error(ErrorCode::BadIpv4,
                "netmask " + mask.to_string() + " is not contiguous (like 255.255.255.0)");
  }
  int len = 0;
  for (std::uint32_t b = m; b & 0x80000000u; b <<= 1) ++len;
  return len;
}

Ipv4Cidr Ipv4Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    throw Error(ErrorCode::BadIpv4, "CIDR " + quoted(text) + ": expected ADDRESS/PREFIX-LENGTH");
  }
  Ipv4Cidr cidr;
  cidr.address = Ipv4::parse(text.substr(0, slash));
  const auto len_text = text.substr(slash + 1);
  int len = -1;
  const auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (ec != std::errc{} || ptr != len_text.data() + len_text.size() || len < 0 || len > 32 ||
      len_text.empty() || (len_text.size() > 1 && len_text[0] == '0')) {
    throw Error(ErrorCode::BadIpv4,
                "CIDR " + quoted(text) + ": prefix length must be a number 0-32");
  }
  cidr.prefix_length = len;
  return cidr;
}

Ipv4 Ipv4Cidr::netmask() const noexcept {
  return Ipv4::from_u32(prefix_length == 0 ? 0u : ~std::uint32_t{0} << (32 - prefix_length));
}
Ipv4 Ipv4Cidr::network() const noexcept {
  return Ipv4::from_u32(address.to_u32() & netmask().to_u32());
}
Ipv4 Ipv4Cidr::broadcast() const noexcept {
  return Ipv4::from_u32(network().to_u32() | ~netmask().to_u32());
}
bool Ipv4Cidr::contains(const Ipv4& ip) const noexcept {
  return (ip.to_u32() & netmask().to_u32()) == network().to_u32();
}
std::string Ipv4Cidr::to_string() const {
  return address.to_string() + "/" + std::to_string(prefix_length);
}

Ipv6 Ipv6::parse(std::string_view text) {
  Ipv6 ip;
  const std::string s(text);
  if (s.find('%') != std::string::npos || s.find('/') != std::string::npos ||
      inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) != 1) {
    throw Error(ErrorCode::BadIpv6, "IPv6 address " + quoted(text) + " is not valid");
  }
  return ip;
}

std::string Ipv6::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

Mac Mac::parse(std::string_view text) { return Mac{parse_hex_bytes<6>(text, "MAC address")}; }
std::string Mac::to_string() const { return format_hex_bytes(bytes); }

MacPrefix MacPrefix::parse(std::string_view text) {
  return MacPrefix{parse_hex_bytes<2>(text, "MAC prefix")};
}
std::string MacPrefix::to_string() const { return format_hex_bytes(bytes); }

Mac mac_from_ipv4(const Ipv4& ip, const MacPrefix& prefix) noexcept {
  return Mac{
      {prefix.bytes[0], prefix.bytes[1], ip.bytes[0], ip.bytes[1], ip.bytes[2], ip.bytes[3]}};
}

bool mac_has_prefix(const Mac& mac, const MacPrefix& prefix) noexcept {
  return mac.bytes[0] == prefix.bytes[0] && mac.bytes[1] == prefix.bytes[1];
}

Ipv4 ipv4_from_mac(const Mac& mac, const MacPrefix& prefix) {
  if (!mac_has_prefix(mac, prefix)) {
    throw Error(ErrorCode::BadMacPrefix,
                "MAC address " + mac.to_string() + " does not start with the prefix " +
                    prefix.to_string() + ", so no IPv4 address derives from it");
  }
  return Ipv4{{mac.bytes[2], mac.bytes[3], mac.bytes[4], mac.bytes[5]}};
}

std::array<std::uint8_t, 8> eui64_interface_id(const Mac& mac) noexcept {
  return {static_cast<std::uint8_t>(mac.bytes[0] ^ 0x02),
          mac.bytes[1],
          mac.bytes[2],
          0xff,
          0xfe,
          mac.bytes[3],
          mac.bytes[4],
          mac.bytes[5]};
}

Ipv6 ipv6_from_prefix_and_mac(const Ipv6& prefix, const Mac& mac) noexcept {
  Ipv6 out = prefix;
  const auto iid = eui64_interface_id(mac);
  for (std::size_t i = 0; i < 8; ++i) out.bytes[8 + i] = iid[i];
  return out;
}

Ipv6 ipv6_from_prefix_and_mac(std::string_view prefix64, const Mac& mac) {
  std::string_view addr = prefix64;
  if (const auto slash = prefix64.find('/'); slash != std::string_view::npos) {
    if (prefix64.substr(slash + 1) != "64") {
      throw Error(ErrorCode::BadIpv6, "IPv6 prefix " + quoted(prefix64) +
                                          ": only /64 prefixes can take an EUI-64 interface id");
    }
    addr = prefix64.substr(0, slash);
  }
  return ipv6_from_prefix_and_mac(Ipv6::parse(addr), mac);
}

}  // namespace cloudtwin::core
