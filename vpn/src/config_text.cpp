#include "cloudtwin/vpn/config_text.hpp"

#include <array>
#include <sstream>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/names.hpp"

namespace cloudtwin::vpn {

std::string render_server_config(const ServerConfig& c) {
  const StatePaths p{c.state_dir};
  std::ostringstream o;
  o << "# Written by `cloudtwin vpn init`; regenerated, do not edit.\n"
    << "# TAP bridge mode: the tap joins the LAN bridge through the up script.\n"
    << "proto udp\n"
    << "port " << c.port << "\n";
  if (!c.bind_address.empty()) o << "local " << c.bind_address << "\n";
  o << "dev " << c.tap_device << "\n"
    << "dev-type tap\n"
    << "server-bridge " << c.gateway.to_string() << " " << c.netmask.to_string() << " "
    << c.pool_start.to_string() << " " << c.pool_end.to_string() << "\n"
    << "client-to-client\n"
    << "client-config-dir " << p.ccd_dir() << "\n"
    << "ca " << p.ca_cert() << "\n"
    << "cert " << p.server_cert() << "\n"
    << "key " << p.server_key() << "\n"
    << "dh none\n"
    << "tls-crypt " << p.tls_crypt_key() << "\n"
    << "crl-verify " << p.crl() << "\n"
    << "remote-cert-tls client\n"
    << "tls-version-min 1.2\n"
    << "data-ciphers " << kDataCiphers << "\n"
    << "keepalive 10 60\n"
    << "persist-key\n"
    << "script-security 2\n"
    << "up " << p.up_script() << "\n"
    << "status " << p.status_file() << " " << c.status_interval_seconds << "\n"
    << "status-version 2\n"
    << "management " << p.management_socket() << " unix\n"
    << "verb 3\n";
  return o.str();
}

std::string render_bridge_up_script(const std::string& bridge) {
  return "#!/bin/sh\n"
         "# Written by `cloudtwin vpn init`: OpenVPN runs this with the tap device in $dev.\n"
         "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
         "exec ip link set dev \"$dev\" master '" +
         bridge + "' up\n";
}

std::string render_ccd(const core::Ipv4& ip, const core::Ipv4& netmask) {
  return "ifconfig-push " + ip.to_string() + " " + netmask.to_string() + "\n";
}

namespace {
void inline_block(std::ostringstream& o, const char* tag, const std::string& body) {
  o << "<" << tag << ">\n" << body;
  if (!body.empty() && body.back() != '\n') o << "\n";
  o << "</" << tag << ">\n";
}
}  // namespace

std::string render_client_profile(const ClientProfile& c) {
  std::ostringstream o;
  o << "# cloudtwin overlay profile for " << c.vm_id << "; contains its private key.\n"
    << "client\n"
    << "dev tap\n"
    << "remote " << c.remote_host << " " << c.port << " udp\n"
    << "nobind\n"
    << "persist-key\n"
    << "persist-tun\n"
    << "resolv-retry infinite\n"
    << "remote-cert-tls server\n"
    << "verify-x509-name " << kServerName << " name\n"
    << "tls-version-min 1.2\n"
    << "data-ciphers " << kDataCiphers << "\n"
    << "verb 3\n";
  inline_block(o, "ca", c.ca_pem);
  inline_block(o, "cert", c.cert_pem);
  inline_block(o, "key", c.key_pem);
  inline_block(o, "tls-crypt", c.tls_crypt_key);
  return o.str();
}

namespace {
constexpr std::string_view kStaticBegin = "-----BEGIN OpenVPN Static key V1-----";
constexpr std::string_view kStaticEnd = "-----END OpenVPN Static key V1-----";
constexpr std::size_t kHexPerLine = 32;

int hex_value(char ch) noexcept {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}
}  // namespace

std::string format_static_key(std::span<const std::uint8_t> key) {
  if (key.size() != kStaticKeyBytes) {
    throw Error(ErrorCode::InvalidArgument, "OpenVPN static key: need " +
                                                std::to_string(kStaticKeyBytes) + " bytes, got " +
                                                std::to_string(key.size()));
  }
  static constexpr std::array<char, 16> kDigits{'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  std::string out;
  out += "#\n# 2048 bit OpenVPN static key\n#\n";
  out += kStaticBegin;
  out += "\n";
  for (std::size_t i = 0; i < key.size(); ++i) {
    out += kDigits[key[i] >> 4U];
    out += kDigits[key[i] & 0x0FU];
    if ((i + 1) % (kHexPerLine / 2) == 0) out += "\n";
  }
  out += kStaticEnd;
  out += "\n";
  return out;
}

std::vector<std::uint8_t> parse_static_key(std::string_view text) {
  const auto fail = [](std::size_t line, const std::string& what) {
    throw ParseError(ErrorCode::InvalidArgument, "tls-crypt key", line, 1, what);
  };
  std::vector<std::uint8_t> key;
  std::size_t line_no = 0;
  bool in_body = false;
  bool done = false;
  std::size_t pos = 0;
  while (pos < text.size() && !done) {
    const auto nl = text.find('\n', pos);
    auto line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!in_body) {
      if (line == kStaticBegin) in_body = true;
      continue;
    }
    if (line == kStaticEnd) {
      done = true;
      continue;
    }
    if (line.size() != kHexPerLine) fail(line_no, "expected 32 hex digits per line");
    for (std::size_t i = 0; i < line.size(); i += 2) {
      const int hi = hex_value(line[i]);
      const int lo = hex_value(line[i + 1]);
      if (hi < 0 || lo < 0) fail(line_no, "not a hex digit");
      key.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
    }
  }
  if (!in_body) fail(1, "no '" + std::string(kStaticBegin) + "' line");
  if (!done) fail(line_no, "no '" + std::string(kStaticEnd) + "' line");
  if (key.size() != kStaticKeyBytes) {
    fail(line_no, "expected 256 bytes, got " + std::to_string(key.size()));
  }
  return key;
}

bool is_valid_vm_id(std::string_view id) noexcept { return core::is_plain_name(id, 64); }

}  // namespace cloudtwin::vpn
