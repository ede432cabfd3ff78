#pragma once
// The operations behind `cloudtwin vpn init|issue|revoke|list`, over a state dir.
// Running an operation twice changes nothing: init with the same settings, issue of an
// already issued VM with the same address, revoke of a revoked VM all succeed as no-ops.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cloudtwin/core/mac_ip.hpp"
#include "cloudtwin/vpn/management.hpp"
#include "cloudtwin/vpn/state_text.hpp"

namespace cloudtwin::vpn {

inline constexpr const char* kDefaultStateDir = "/var/lib/cloudtwin/vpn";
// One VPN per libvirt network: the layout the cloudtwin-vpn@NET unit runs
// (`--config /var/lib/cloudtwin/vpn/NET/server.conf`).
inline std::string network_state_dir(const std::string& network) {
  return std::string(kDefaultStateDir) + "/" + network;
}
inline constexpr int kCaDays = 3650;
inline constexpr int kLeafDays = 1825;
// OpenVPN refuses every client once the CRL's nextUpdate passes; it is re-signed on each
// revoke, but a host may go years without one.
inline constexpr int kCrlDays = 3650;

struct InitOptions {
  std::string state_dir = kDefaultStateDir;
  core::Ipv4Cidr network;
  core::Ipv4 gateway;
  std::string bridge;
  std::string remote_host;
  std::uint16_t port = 1194;
  std::optional<std::pair<core::Ipv4, core::Ipv4>> pool;  // default: default_pool()
  std::int64_t now = 0;
  // Refuse a first init when the UDP port is already taken in this network namespace.
  bool check_port = true;
};

enum class Outcome { Changed, Unchanged };

// Creates the CA, server certificate, tls-crypt key, empty CRL, server.conf and its up
// script. Throws Error(InvalidArgument) if the dir holds different settings, or (first
// init only) if the UDP port is already in use.
// init, issue and revoke hold the state dir's FileLock (StatePaths::lock()) while they
// read and rewrite its files, so concurrent commands never corrupt index.txt or hand one
// address to two VMs.
Outcome init(const InitOptions& options);

struct IssueResult {
  std::string profile_path;
  Outcome outcome = Outcome::Changed;
};

// Issues a client certificate for `vm_id` with the fixed overlay address `ip`, writes
// its single-file profile (0600) and its client-config-dir entry.
IssueResult issue(const std::string& state_dir, const std::string& vm_id, const core::Ipv4& ip,
                  std::int64_t now);

struct RevokeResult {
  Outcome outcome = Outcome::Changed;
  KillOutcome session = KillOutcome::NoServer;
};

// Revokes every certificate of `vm_id`, re-signs the CRL (OpenVPN re-reads it on the next
// handshake), removes the profile and the client-config-dir entry, and drops the VM's open
// session through the server's management socket when the server runs.
// Throws Error(NotFound) for a VM never issued.
RevokeResult revoke(const std::string& state_dir, const std::string& vm_id, std::int64_t now);

struct ListEntry {
  IndexEntry cert;
  std::optional<ConnectedClient> connection;  // from OpenVPN's status file
};
std::vector<ListEntry> list(const std::string& state_dir);

}  // namespace cloudtwin::vpn
