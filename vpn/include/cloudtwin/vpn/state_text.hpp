#pragma once
// The VPN state dir's own text files, parsed and rendered by pure functions:
//   settings    key=value lines written by `vpn init`;
//   index.txt   one line per certificate issued to a VM (issued or revoked);
// and OpenVPN's status file (status-version 2), read for "connected".

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/core/mac_ip.hpp"

namespace cloudtwin::vpn {

struct Settings {
  core::Ipv4Cidr network;
  core::Ipv4 gateway;
  std::string bridge;
  std::string remote_host;  // what clients connect to (profile `remote`, server SAN)
  std::uint16_t port = 1194;
  core::Ipv4 pool_start;
  core::Ipv4 pool_end;
  bool operator==(const Settings&) const = default;
};

std::string render_settings(const Settings& settings);
// Throws ParseError naming `source` and the line for a bad or missing key.
Settings parse_settings(std::string_view text, const std::string& source);

enum class CertState { Issued, Revoked };

struct IndexEntry {
  std::string vm_id;
  core::Ipv4 ip;
  std::string serial_hex;  // uppercase hex, as OpenSSL prints it
  CertState state = CertState::Issued;
  std::int64_t issued_at = 0;   // unix seconds
  std::int64_t revoked_at = 0;  // 0 while issued
  bool operator==(const IndexEntry&) const = default;
};

// Line: "VM_ID IP SERIAL issued|revoked ISSUED_AT REVOKED_AT".
std::string render_index(const std::vector<IndexEntry>& entries);
std::vector<IndexEntry> parse_index(std::string_view text, const std::string& source);

struct ConnectedClient {
  std::string common_name;
  std::string real_address;  // "198.51.100.2:41234"
  std::int64_t connected_since = 0;
  std::int64_t client_id = -1;  // the management interface's CID; -1 if absent
  bool operator==(const ConnectedClient&) const = default;
};

// CLIENT_LIST rows of an OpenVPN status-version 2 file; other rows are ignored.
std::vector<ConnectedClient> parse_status_v2(std::string_view text);

// The default address pool for `server-bridge` when none is given: the last
// min(16, hosts / 4) host addresses before the broadcast address. Throws for networks
// smaller than /29, where there is no room for one.
std::pair<core::Ipv4, core::Ipv4> default_pool(const core::Ipv4Cidr& network);

}  // namespace cloudtwin::vpn
