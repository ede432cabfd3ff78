#include "cloudtwin/vpn/state_text.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <sstream>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::vpn {

namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    auto line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
  }
  return lines;
}

std::vector<std::string_view> split(std::string_view line, char sep) {
  std::vector<std::string_view> fields;
  std::size_t pos = 0;
  while (true) {
    const auto at = line.find(sep, pos);
    fields.push_back(
        line.substr(pos, at == std::string_view::npos ? std::string_view::npos : at - pos));
    if (at == std::string_view::npos) break;
    pos = at + 1;
  }
  return fields;
}

template <typename Int>
std::optional<Int> to_int(std::string_view text) {
  Int value{};
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::string render_settings(const Settings& s) {
  std::ostringstream o;
  o << "# cloudtwin vpn settings, written by `cloudtwin vpn init`\n"
    << "network=" << s.network.to_string() << "\n"
    << "gateway=" << s.gateway.to_string() << "\n"
    << "bridge=" << s.bridge << "\n"
    << "remote_host=" << s.remote_host << "\n"
    << "port=" << s.port << "\n"
    << "pool_start=" << s.pool_start.to_string() << "\n"
    << "pool_end=" << s.pool_end.to_string() << "\n";
  return o.str();
}

Settings parse_settings(std::string_view text, const std::string& source) {
  std::map<std::string, std::pair<std::string, std::size_t>> values;
  const auto lines = split_lines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto line = lines[i];
    if (line.empty() || line.front() == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      throw ParseError(ErrorCode::InvalidArgument, source, i + 1, 1, "expected KEY=VALUE");
    }
    values[std::string(line.substr(0, eq))] = {std::string(line.substr(eq + 1)), i + 1};
  }
  const auto get = [&](const std::string& key) -> std::pair<std::string, std::size_t> {
    const auto it = values.find(key);
    if (it == values.end()) {
      throw ParseError(ErrorCode::InvalidArgument, source, lines.size(), 1,
                       "missing key '" + key + "'; rerun `cloudtwin vpn init`");
    }
    return it->second;
  };
  const auto field = [&](const std::string& key, auto&& parse) {
    const auto [value, line] = get(key);
    try {
      return parse(value);
    } catch (const Error& e) {
      throw ParseError(ErrorCode::InvalidArgument, source, line, key.size() + 2, e.what());
    }
  };
  Settings s;
  s.network = field("network", [](const std::string& v) { return core::Ipv4Cidr::parse(v); });
  s.gateway = field("gateway", [](const std::string& v) { return core::Ipv4::parse(v); });
  s.bridge = get("bridge").first;
  s.remote_host = get("remote_host").first;
  s.port = field("port", [](const std::string& v) {
    const auto port = to_int<std::uint16_t>(v);
    if (!port || *port == 0) throw Error(ErrorCode::InvalidArgument, "bad port '" + v + "'");
    return *port;
  });
  s.pool_start = field("pool_start", [](const std::string& v) { return core::Ipv4::parse(v); });
  s.pool_end = field("pool_end", [](const std::string& v) { return core::Ipv4::parse(v); });
  return s;
}

std::string render_index(const std::vector<IndexEntry>& entries) {
  std::ostringstream o;
  for (const auto& e : entries) {
    o << e.vm_id << " " << e.ip.to_string() << " " << e.serial_hex << " "
      << (e.state == CertState::Issued ? "issued" : "revoked") << " " << e.issued_at << " "
      << e.revoked_at << "\n";
  }
  return o.str();
}

std::vector<IndexEntry> parse_index(std::string_view text, const std::string& source) {
  std::vector<IndexEntry> entries;
  const auto lines = split_lines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const auto bad = [&](const std::string& what) {
      return ParseError(ErrorCode::InvalidArgument, source, i + 1, 1, what);
    };
    const auto f = split(lines[i], ' ');
    if (f.size() != 6) throw bad("expected 6 fields: VM_ID IP SERIAL STATE ISSUED REVOKED");
    IndexEntry e;
    e.vm_id = std::string(f[0]);
    try {
      e.ip = core::Ipv4::parse(f[1]);
    } catch (const Error& err) {
      throw bad(err.what());
    }
    e.serial_hex = std::string(f[2]);
    if (f[3] == "issued") {
      e.state = CertState::Issued;
    } else if (f[3] == "revoked") {
      e.state = CertState::Revoked;
    } else {
      throw bad("state must be 'issued' or 'revoked'");
    }
    const auto issued = to_int<std::int64_t>(f[4]);
    const auto revoked = to_int<std::int64_t>(f[5]);
    if (!issued || !revoked) throw bad("times must be unix seconds");
    e.issued_at = *issued;
    e.revoked_at = *revoked;
    entries.push_back(std::move(e));
  }
  return entries;
}

std::vector<ConnectedClient> parse_status_v2(std::string_view text) {
  // HEADER,CLIENT_LIST,Common Name,Real Address,Virtual Address,Virtual IPv6 Address,
  // Bytes Received,Bytes Sent,Connected Since,Connected Since (time_t),...
  std::vector<ConnectedClient> clients;
  for (const auto line : split_lines(text)) {
    const auto f = split(line, ',');
    if (f.size() < 3 || f[0] != "CLIENT_LIST") continue;
    ConnectedClient c;
    c.common_name = std::string(f[1]);
    c.real_address = std::string(f[2]);
    if (f.size() > 8) c.connected_since = to_int<std::int64_t>(f[8]).value_or(0);
    if (f.size() > 10) c.client_id = to_int<std::int64_t>(f[10]).value_or(-1);
    clients.push_back(std::move(c));
  }
  return clients;
}

std::pair<core::Ipv4, core::Ipv4> default_pool(const core::Ipv4Cidr& network) {
  if (network.prefix_length > 29) {
    throw Error(ErrorCode::InvalidArgument,
                "network " + network.to_string() +
                    " is too small for an address pool; use /29 or larger, or give --pool");
  }
  const std::uint32_t hosts = (std::uint32_t{1} << (32 - network.prefix_length)) - 2;
  const std::uint32_t size = std::min<std::uint32_t>(16, hosts / 4);
  const std::uint32_t last = network.broadcast().to_u32() - 1;
  return {core::Ipv4::from_u32(last - size + 1), core::Ipv4::from_u32(last)};
}

}  // namespace cloudtwin::vpn
