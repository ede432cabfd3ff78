#include "cloudtwin/vpn/service.hpp"

#include <algorithm>
#include <cstdio>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/vpn/config_text.hpp"
#include "cloudtwin/vpn/files.hpp"
#include "cloudtwin/vpn/pki.hpp"
#include "cloudtwin/vpn/port_probe.hpp"

namespace cloudtwin::vpn {

namespace {

constexpr mode_t kSecret = 0600;
constexpr mode_t kPublic = 0644;

[[noreturn]] void invalid(const std::string& what) {
  throw Error(ErrorCode::InvalidArgument, what);
}

bool is_valid_ifname(const std::string& name) {
  if (name.empty() || name.size() > 15) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_' || ch == '.';
  });
}

bool is_valid_host(const std::string& host) {
  if (host.empty() || host.size() > 253) return false;
  return std::all_of(host.begin(), host.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.';
  });
}

bool is_ipv4(const std::string& text) {
  try {
    core::Ipv4::parse(text);
    return true;
  } catch (const Error&) {
    return false;
  }
}

bool in_range(const core::Ipv4& ip, const core::Ipv4& first, const core::Ipv4& last) {
  return first.to_u32() <= ip.to_u32() && ip.to_u32() <= last.to_u32();
}

// Throws unless `ip` is a host address of the network other than the gateway.
void check_host_address(const Settings& s, const core::Ipv4& ip, const std::string& what) {
  if (!s.network.contains(ip) || ip == s.network.network() || ip == s.network.broadcast()) {
    invalid(what + " " + ip.to_string() + " is not a host address of " + s.network.to_string());
  }
  if (ip == s.gateway) invalid(what + " " + ip.to_string() + " is the gateway's address");
}

Settings settings_from(const InitOptions& o) {
  Settings s;
  s.network = core::Ipv4Cidr{o.network.network(), o.network.prefix_length};
  s.gateway = o.gateway;
  s.bridge = o.bridge;
  s.remote_host = o.remote_host;
  s.port = o.port;
  const auto pool = o.pool ? *o.pool : default_pool(s.network);
  s.pool_start = pool.first;
  s.pool_end = pool.second;
  if (!s.network.contains(s.gateway) || s.gateway == s.network.network() ||
      s.gateway == s.network.broadcast()) {
    invalid("gateway " + s.gateway.to_string() + " is not a host address of " +
            s.network.to_string());
  }
  if (!is_valid_ifname(s.bridge)) {
    invalid("bridge '" + s.bridge + "' is not an interface name (1-15 of [A-Za-z0-9._-])");
  }
  if (!is_valid_host(s.remote_host)) {
    invalid("listen host '" + s.remote_host + "' is not a host name or IPv4 address");
  }
  if (s.port == 0) invalid("port 0 is not a UDP port clients can reach");
  check_host_address(s, s.pool_start, "pool start");
  check_host_address(s, s.pool_end, "pool end");
  if (s.pool_start.to_u32() > s.pool_end.to_u32()) {
    invalid("pool " + s.pool_start.to_string() + "-" + s.pool_end.to_string() + " is empty");
  }
  return s;
}

Settings load_settings(const StatePaths& p) {
  const auto text = read_file_if_exists(p.settings());
  if (!text) {
    throw Error(ErrorCode::NotFound, "no VPN in " + p.dir + " (missing " + p.settings() +
                                         "); run `cloudtwin vpn init` first");
  }
  return parse_settings(*text, p.settings());
}

std::vector<IndexEntry> load_index(const StatePaths& p) {
  return parse_index(read_file_if_exists(p.index()).value_or(""), p.index());
}

CertAndKey load_ca(const StatePaths& p) {
  CertAndKey ca{read_file(p.ca_cert()), read_file(p.ca_key()), ""};
  check_cert_and_key(ca, "CA in " + p.dir);
  return ca;
}

std::string write_crl(const StatePaths& p, const CertAndKey& ca,
                      const std::vector<IndexEntry>& index, std::int64_t now) {
  std::vector<RevokedSerial> revoked;
  for (const auto& e : index) {
    if (e.state == CertState::Revoked) revoked.push_back({e.serial_hex, e.revoked_at});
  }
  auto crl = make_crl(ca, revoked, now, {now, kCrlDays});
  write_file_atomic(p.crl(), crl, kPublic);
  return crl;
}

}  // namespace

Outcome init(const InitOptions& o) {
  const StatePaths p{o.state_dir};
  const auto s = settings_from(o);
  if (const auto existing = read_file_if_exists(p.settings())) {
    if (parse_settings(*existing, p.settings()) == s) return Outcome::Unchanged;
    invalid("the VPN in " + p.dir +
            " was initialised with other settings; remove that directory to start over "
            "(this revokes every issued profile)");
  }
  make_dir(p.dir, 0700);
  const FileLock lock(p.lock());
  // Again under the lock: a concurrent init may have finished while this one waited.
  if (const auto existing = read_file_if_exists(p.settings())) {
    if (parse_settings(*existing, p.settings()) == s) return Outcome::Unchanged;
    invalid("the VPN in " + p.dir + " was initialised with other settings meanwhile");
  }
  // Only on first init: once the server runs, the port is rightly taken by it.
  if (o.check_port && udp_port_in_use(s.port)) {
    invalid("UDP port " + std::to_string(s.port) +
            " is already in use on this host (another OpenVPN server?); choose another with "
            "--listen HOST:PORT, or stop what holds it (ss -ulpn 'sport = :" +
            std::to_string(s.port) + "')");
  }
  make_dir(p.ccd_dir(), 0755);
  make_dir(p.clients_dir(), 0700);

  const Validity ca_validity{o.now, kCaDays};
  const Validity leaf_validity{o.now, kLeafDays};
  const auto ca_id = random_bytes(4);
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%02x%02x%02x%02x", ca_id[0], ca_id[1], ca_id[2], ca_id[3]);
  const auto ca = make_ca("cloudtwin VPN CA " + std::string(suffix), ca_validity);
  const std::vector<std::string> san{"DNS:" + std::string(kServerName),
                                     (is_ipv4(s.remote_host) ? "IP:" : "DNS:") + s.remote_host};
  const auto server = make_server_cert(ca, std::string(kServerName), san, leaf_validity);

  write_file_atomic(p.ca_key(), ca.key_pem, kSecret);
  write_file_atomic(p.ca_cert(), ca.cert_pem, kPublic);
  write_file_atomic(p.server_key(), server.key_pem, kSecret);
  write_file_atomic(p.server_cert(), server.cert_pem, kPublic);
  write_file_atomic(p.tls_crypt_key(), format_static_key(random_bytes(kStaticKeyBytes)), kSecret);
  write_crl(p, ca, {}, o.now);
  write_file_atomic(p.index(), "", kPublic);

  ServerConfig config;
  config.state_dir = p.dir;
  // One tap per server: two VPNs on one host (cloudtwin-vpn@NET for two networks) need
  // distinct UDP ports anyway, so the port names the tap ("tap-ct1194", at most 11 chars).
  config.tap_device = tap_device_for_port(s.port);
  config.port = s.port;
  config.gateway = s.gateway;
  config.netmask = s.network.netmask();
  config.pool_start = s.pool_start;
  config.pool_end = s.pool_end;
  write_file_atomic(p.up_script(), render_bridge_up_script(s.bridge), 0755);
  write_file_atomic(p.server_config(), render_server_config(config), kPublic);
  write_file_atomic(p.settings(), render_settings(s), kPublic);  // last: marks init complete
  return Outcome::Changed;
}

IssueResult issue(const std::string& state_dir, const std::string& vm_id, const core::Ipv4& ip,
                  std::int64_t now) {
  const StatePaths p{state_dir};
  if (!is_valid_vm_id(vm_id)) {
    invalid("VM id '" + vm_id + "' must be 1-64 of [A-Za-z0-9._-], not starting with . or -");
  }
  const auto s = load_settings(p);
  check_host_address(s, ip, "address");
  if (in_range(ip, s.pool_start, s.pool_end)) {
    invalid("address " + ip.to_string() + " is in the VPN's dynamic pool " +
            s.pool_start.to_string() + "-" + s.pool_end.to_string());
  }
  // Check and commit under one lock: two concurrent issues cannot both take an address.
  const FileLock lock(p.lock());
  auto index = load_index(p);
  for (const auto& e : index) {
    if (e.state != CertState::Issued) continue;
    if (e.vm_id == vm_id && e.ip == ip && file_exists(p.profile(vm_id))) {
      return {p.profile(vm_id), Outcome::Unchanged};
    }
    if (e.vm_id == vm_id) {
      std::string message = "VM " + vm_id;
      message += " already has a profile (address " + e.ip.to_string();
      message += "); run `cloudtwin vpn revoke " + vm_id + "` first";
      invalid(message);
    }
    if (e.ip == ip) {
      std::string message = "address " + ip.to_string();
      message += " is already VM " + e.vm_id + "'s";
      invalid(message);
    }
  }
  const auto ca = load_ca(p);
  const auto client = make_client_cert(ca, vm_id, {now, kLeafDays});
  ClientProfile profile{vm_id,
                        s.remote_host,
                        s.port,
                        ca.cert_pem,
                        client.cert_pem,
                        client.key_pem,
                        read_file(p.tls_crypt_key())};
  write_file_atomic(p.profile(vm_id), render_client_profile(profile), kSecret);
  write_file_atomic(p.ccd_file(vm_id), render_ccd(ip, s.network.netmask()), kPublic);
  index.push_back({vm_id, ip, client.serial_hex, CertState::Issued, now, 0});
  write_file_atomic(p.index(), render_index(index), kPublic);  // last: the commit point
  return {p.profile(vm_id), Outcome::Changed};
}

RevokeResult revoke(const std::string& state_dir, const std::string& vm_id, std::int64_t now) {
  const StatePaths p{state_dir};
  load_settings(p);
  bool changed = false;
  {
    const FileLock lock(p.lock());
    auto index = load_index(p);
    bool known = false;
    for (auto& e : index) {
      if (e.vm_id != vm_id) continue;
      known = true;
      if (e.state == CertState::Issued) {
        e.state = CertState::Revoked;
        e.revoked_at = now;
        changed = true;
      }
    }
    if (!known) {
      throw Error(ErrorCode::NotFound, "VM " + vm_id + " has no VPN profile in " + p.dir);
    }
    if (changed) {
      write_crl(p, load_ca(p), index, now);  // first: the CRL is what refuses the client
      write_file_atomic(p.index(), render_index(index), kPublic);
    }
    remove_file(p.ccd_file(vm_id));
    remove_file(p.profile(vm_id));
  }  // the management round trip below may take seconds: not under the lock
  // After the CRL: the dropped client reconnects at once and must meet the new CRL.
  const auto session = kill_client(p.management_socket(), vm_id);
  return {changed ? Outcome::Changed : Outcome::Unchanged, session};
}

std::vector<ListEntry> list(const std::string& state_dir) {
  const StatePaths p{state_dir};
  load_settings(p);
  const auto connected = parse_status_v2(read_file_if_exists(p.status_file()).value_or(""));
  std::vector<ListEntry> out;
  for (auto& e : load_index(p)) {
    ListEntry entry{std::move(e), std::nullopt};
    if (entry.cert.state == CertState::Issued) {
      const auto it = std::find_if(connected.begin(), connected.end(), [&](const auto& c) {
        return c.common_name == entry.cert.vm_id;
      });
      if (it != connected.end()) entry.connection = *it;
    }
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace cloudtwin::vpn
