#include "cloudtwin/metadata/config.hpp"

#include <charconv>
#include <functional>
#include <set>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/ini.hpp"
#include "cloudtwin/core/mac_ip.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::metadata {

namespace {

bool parse_bool(std::string_view v, bool& out) {
  if (v == "true" || v == "yes" || v == "on" || v == "1") return out = true, true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return out = false, true;
  return false;
}

template <typename T>
bool parse_number(std::string_view v, T lo, T hi, T& out) {
  T n{};
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || n < lo || n > hi)
    return false;
  out = n;
  return true;
}

// [imds] and [limits]; false when `key` is none of theirs.
bool apply_imds_key(Config& c, const std::string& key, const std::string& value,
                    const std::function<Error(const std::string&)>& bad) {
  if (key == "imds.token_ttl_max") {
    if (!parse_number(value, 1, 21600, c.token_ttl_max)) throw bad("expected seconds 1-21600");
  } else if (key == "imds.tokens_per_vm") {
    if (!parse_number(value, std::size_t{1}, std::size_t{1'000'000}, c.tokens_per_vm))
      throw bad("expected 1-1000000 live tokens per VM");
  } else if (key == "imds.default_hop_limit") {
    if (!parse_number(value, 1, 64, c.record_defaults.hop_limit)) throw bad("expected 1-64");
  } else if (key == "imds.allow_imdsv1") {
    bool v1 = true;
    if (!parse_bool(value, v1)) throw bad("expected true or false");
    c.record_defaults.http_tokens =
        v1 ? record::HttpTokens::Optional : record::HttpTokens::Required;
  } else if (key == "imds.account_id") {
    if (value.size() != 12 || value.find_first_not_of("0123456789") != std::string::npos)
      throw bad("expected 12 digits, as an AWS account id");
    c.account_id = value;
  } else if (key == "limits.requests_per_second") {
    unsigned n = 0;
    if (!parse_number(value, 0u, 10'000'000u, n)) throw bad("expected 0 (unlimited) or more");
    c.limits.requests_per_second = n;
  } else if (key == "limits.burst") {
    unsigned n = 0;
    if (!parse_number(value, 1u, 10'000'000u, n)) throw bad("expected 1 or more");
    c.limits.burst = n;
  } else if (key == "limits.connections_per_vm") {
    if (!parse_number(value, std::size_t{0}, std::size_t{1'000'000}, c.limits.connections_per_vm))
      throw bad("expected 0 (unlimited) or more");
  } else if (key == "limits.connections") {
    if (!parse_number(value, std::size_t{0}, std::size_t{10'000'000}, c.limits.connections))
      throw bad("expected 0 (from the descriptor limit) or more");
  } else if (key == "limits.connections_unknown") {
    if (!parse_number(value, std::size_t{0}, std::size_t{10'000'000}, c.limits.connections_unknown))
      throw bad("expected 0 (half of connections) or more");
  } else {
    return false;
  }
  return true;
}

}  // namespace

ListenSpec ListenSpec::parse(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return Error(ErrorCode::InvalidArgument,
                 "listen address '" + std::string(text) + "': " + why +
                     " (expected ADDR:PORT, [IPV6]:PORT, optionally @DEVICE)");
  };
  ListenSpec spec;
  std::string_view rest = text;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    spec.device = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (spec.device.empty() || spec.device.size() > 15) throw bad("bad device name");
  }
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      throw bad("missing ']:' after the IPv6 address");
    }
    spec.address = std::string(rest.substr(1, close - 1));
    port = rest.substr(close + 2);
    try {
      spec.address = core::Ipv6::parse(spec.address).to_string();
    } catch (const Error&) {
      throw bad("not an IPv6 address");
    }
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) throw bad("missing ':PORT'");
    spec.address = std::string(rest.substr(0, colon));
    port = rest.substr(colon + 1);
    try {
      spec.address = core::Ipv4::parse(spec.address).to_string();
    } catch (const Error&) {
      throw bad("not an IPv4 address (put IPv6 addresses in brackets)");
    }
  }
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value > 65535) {
    throw bad("port must be a number 0-65535");
  }
  spec.port = static_cast<std::uint16_t>(value);
  return spec;
}

std::string ListenSpec::to_string() const {
  std::string out = address.find(':') != std::string::npos ? "[" + address + "]" : address;
  out += ":" + std::to_string(port);
  if (!device.empty()) out += "@" + device;
  return out;
}

std::string derive_account_id(std::string_view machine_id) {
  // FNV-1a: stable across versions and platforms, unlike std::hash.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : machine_id) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  std::string out(12, '0');
  for (auto it = out.rbegin(); it != out.rend(); ++it, h /= 10)
    *it = static_cast<char>('0' + h % 10);
  return out;
}

std::vector<std::string> apply_ini(Config& config, std::string_view text,
                                   const std::string& source) {
  std::vector<std::string> warnings;
  std::vector<core::IniEntry> entries;
  try {
    entries = core::parse_ini(text, source);
  } catch (const ParseError& e) {
    throw Error(ErrorCode::InvalidArgument, e.what());
  }
  for (const auto& entry : entries) {
    const auto where = source + ":" + std::to_string(entry.line) + ": ";
    const auto& key = entry.key;
    const auto& value = entry.value;
    const auto bad = [&](const std::string& why) {
      return Error(ErrorCode::InvalidArgument, where + key + ": " + why);
    };
    if (apply_imds_key(config, key, value, bad)) continue;
    if (key == "server.listen") {
      config.listen.clear();
      try {
        for (const auto& w : core::words(value, " \t"))
          config.listen.push_back(ListenSpec::parse(w));
      } catch (const Error& e) {
        throw bad(e.what());
      }
    } else if (key == "server.instances_dir" || key == "server.records_dir") {
      config.instances_dir = value;
    } else if (key == "server.libvirt_uri") {
      config.libvirt_uri = value;
    } else if (key == "server.ctl_socket") {
      config.ctl_socket = value;
    } else if (key == "server.state_dir") {
      if (value.empty() || value.front() != '/') throw bad("expected an absolute path");
      config.state_dir = value;
    } else if (key == "server.log_file") {
      if (!value.empty() && value.front() != '/') throw bad("expected an absolute path");
      config.log_file = value;
    } else if (key == "server.access_log") {
      if (!parse_bool(value, config.access_log)) throw bad("expected true or false");
    } else if (key == "server.threads") {
      unsigned n = 0;
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || ptr != value.data() + value.size() || n == 0 || n > 256) {
        throw bad("expected a number of threads 1-256");
      }
      config.threads = n;
    } else if (key == "server.neighbor_check") {
      if (!parse_bool(value, config.neighbor_check)) throw bad("expected true or false");
    } else if (key == "server.header_timeout") {
      unsigned n = 0;
      if (!parse_number(value, 1u, 30u, n)) throw bad("expected seconds 1-30");
      config.header_timeout = std::chrono::seconds(n);
    } else if (key == "identity.rsa2048_key") {
      config.identity_rsa2048_key = value;
    } else if (key == "identity.rsa2048_cert") {
      config.identity_rsa2048_cert = value;
    } else if (key == "identity.key") {
      config.identity_key = value;
    } else if (key == "identity.cert") {
      config.identity_cert = value;
    } else {
      warnings.push_back(where + "unknown key '" + key + "' ignored");
    }
  }
  return warnings;
}

std::vector<std::string> needs_restart(const Config& a, const Config& b) {
  const auto same_limits = [](const LimitOptions& x, const LimitOptions& y) {
    return x.requests_per_second == y.requests_per_second && x.burst == y.burst &&
           x.connections_per_vm == y.connections_per_vm && x.connections == y.connections &&
           x.connections_unknown == y.connections_unknown;
  };
  const std::pair<const char*, bool> checks[] = {
      {"[server] listen", a.listen == b.listen},
      {"[server] instances_dir", a.instances_dir == b.instances_dir},
      {"[server] libvirt_uri", a.libvirt_uri == b.libvirt_uri},
      {"[server] ctl_socket", a.ctl_socket == b.ctl_socket},
      {"[server] state_dir", a.state_dir == b.state_dir},
      {"[server] threads", a.threads == b.threads},
      {"[server] neighbor_check", a.neighbor_check == b.neighbor_check},
      {"[server] header_timeout", a.header_timeout == b.header_timeout},
      {"[identity]", a.identity_key == b.identity_key && a.identity_cert == b.identity_cert &&
                         a.identity_rsa2048_key == b.identity_rsa2048_key &&
                         a.identity_rsa2048_cert == b.identity_rsa2048_cert},
      {"[imds]", a.account_id == b.account_id && a.record_defaults == b.record_defaults &&
                     a.token_ttl_max == b.token_ttl_max && a.tokens_per_vm == b.tokens_per_vm},
      {"[limits]", same_limits(a.limits, b.limits)},
  };
  std::vector<std::string> out;
  for (const auto& [name, same] : checks) {
    if (!same) out.emplace_back(name);
  }
  return out;
}

}  // namespace cloudtwin::metadata
