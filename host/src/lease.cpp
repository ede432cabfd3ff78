#include "cloudtwin/host/lease.hpp"

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::host {
namespace {

std::string hex(std::uint64_t v, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i) {
    s[static_cast<std::size_t>(i)] = kDigits[v & 0xfU];
    v >>= 4U;
  }
  return s;
}

bool reserved(const core::Ipv4Cidr& cidr, const core::Ipv4& gateway, const core::Ipv4& ip) {
  return ip == cidr.network() || ip == cidr.broadcast() || ip == gateway;
}

}  // namespace

core::Ipv4 lease_address(const core::Ipv4Cidr& cidr, const core::Ipv4& gateway,
                         const std::set<core::Ipv4>& in_use, const std::string& network_name) {
  const auto first = cidr.network().to_u32();
  const auto last = cidr.broadcast().to_u32();
  for (auto a = first; a <= last && a >= first; ++a) {
    const auto ip = core::Ipv4::from_u32(a);
    if (!reserved(cidr, gateway, ip) && in_use.count(ip) == 0) return ip;
    if (a == last) break;
  }
  throw Error(ErrorCode::InvalidArgument, "network '" + network_name + "' has no free address in " +
                                              cidr.to_string() + " (" +
                                              std::to_string(in_use.size()) +
                                              " in use); delete a VM or create a larger network");
}

void check_requested_address(const core::Ipv4Cidr& cidr, const core::Ipv4& gateway,
                             const std::set<core::Ipv4>& in_use, const core::Ipv4& ip,
                             const std::string& network_name) {
  const auto where = "NIC/IP " + ip.to_string() + " on network '" + network_name + "'";
  if (!cidr.contains(ip)) {
    throw Error(ErrorCode::InvalidArgument, where + " is outside " + cidr.to_string());
  }
  if (reserved(cidr, gateway, ip)) {
    throw Error(ErrorCode::InvalidArgument,
                where + " is the network, broadcast or gateway address");
  }
  if (in_use.count(ip) != 0) {
    throw Error(ErrorCode::InvalidArgument, where + " is already used by another VM");
  }
}

std::string generate_instance_id(Random& random) {
  const auto hi = random.next_u64() & 0xfU;  // 17 hex digits = 68 bits
  return "i-" + hex(hi, 1) + hex(random.next_u64(), 16);
}

std::string generate_uuid(Random& random, bool ec2_prefix) {
  auto a = random.next_u64();
  auto b = random.next_u64();
  a = (a & ~0xf000ULL) | 0x4000ULL;                         // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  auto h = hex(a, 16) + hex(b, 16);
  if (ec2_prefix) h.replace(0, 3, "ec2");
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

}  // namespace cloudtwin::host
