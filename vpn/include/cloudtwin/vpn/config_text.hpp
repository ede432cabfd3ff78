#pragma once
// OpenVPN configuration text, rendered from plain structs. Pure: no files, no OpenSSL.
// The server runs in TAP bridge mode: its tap joins the LAN bridge (through the up
// script), so remote VMs share the LAN's address space.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/core/mac_ip.hpp"

namespace cloudtwin::vpn {

inline constexpr std::string_view kDataCiphers = "AES-256-GCM:CHACHA20-POLY1305";
inline constexpr std::string_view kServerName = "cloudtwin-vpn";  // server cert CN

struct ServerConfig {
  std::string state_dir;                     // absolute; every path below lives in it
  std::string tap_device = "tap-cloudtwin";  // init uses tap_device_for_port()
  std::string bind_address;                  // empty: all addresses
  std::uint16_t port = 1194;
  core::Ipv4 gateway;  // the LAN bridge's address
  core::Ipv4 netmask;
  core::Ipv4 pool_start;
  core::Ipv4 pool_end;
  int status_interval_seconds = 10;
};

struct ClientProfile {
  std::string vm_id;
  std::string remote_host;
  std::uint16_t port = 1194;
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
  std::string tls_crypt_key;  // "-----BEGIN OpenVPN Static key V1-----" block
};

// Paths inside the state dir, shared by the renderers and the service.
struct StatePaths {
  std::string dir;
  std::string ca_cert() const { return dir + "/ca.crt"; }
  std::string ca_key() const { return dir + "/ca.key"; }
  std::string server_cert() const { return dir + "/server.crt"; }
  std::string server_key() const { return dir + "/server.key"; }
  std::string tls_crypt_key() const { return dir + "/tls-crypt.key"; }
  std::string crl() const { return dir + "/crl.pem"; }
  std::string server_config() const { return dir + "/server.conf"; }
  std::string up_script() const { return dir + "/bridge-up.sh"; }
  std::string status_file() const { return dir + "/openvpn-status.log"; }
  std::string management_socket() const { return dir + "/management.sock"; }
  std::string settings() const { return dir + "/settings"; }
  std::string index() const { return dir + "/index.txt"; }
  std::string lock() const { return dir + "/index.lock"; }  // see FileLock
  std::string ccd_dir() const { return dir + "/ccd"; }
  std::string clients_dir() const { return dir + "/clients"; }
  std::string ccd_file(const std::string& vm_id) const { return ccd_dir() + "/" + vm_id; }
  std::string profile(const std::string& vm_id) const {
    return clients_dir() + "/" + vm_id + ".ovpn";
  }
};

// The server's tap device name for a UDP port: unique per server on a host.
inline std::string tap_device_for_port(std::uint16_t port) {
  return "tap-ct" + std::to_string(port);
}

std::string render_server_config(const ServerConfig& config);
// The `up` script: puts the tap into the bridge. OpenVPN exports the device as $dev.
std::string render_bridge_up_script(const std::string& bridge);
// The client-config-dir entry fixing a VM's overlay address.
std::string render_ccd(const core::Ipv4& ip, const core::Ipv4& netmask);
std::string render_client_profile(const ClientProfile& profile);

// OpenVPN static key v1 (tls-crypt): 256 bytes as 16 lines of 32 lowercase hex digits.
inline constexpr std::size_t kStaticKeyBytes = 256;
std::string format_static_key(std::span<const std::uint8_t> key);   // needs 256 bytes
std::vector<std::uint8_t> parse_static_key(std::string_view text);  // throws ParseError

// A VM id is an instance id (i-0abc..., one-42): it becomes a certificate CN and a file
// name, so only [A-Za-z0-9._-], 1-64 characters, not starting with '.' or '-'.
bool is_valid_vm_id(std::string_view id) noexcept;

}  // namespace cloudtwin::vpn
