#include "cloudtwin/core/context.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::core {

namespace {

std::vector<std::string> split_any(std::string_view s, std::string_view seps) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const auto end = s.find_first_of(seps, start);
    const auto piece = trim(s.substr(start, end == std::string_view::npos ? s.npos : end - start));
    if (!piece.empty()) out.emplace_back(piece);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

[[noreturn]] void bad_value(std::string_view key, std::string_view value, const std::string& why) {
  throw Error(ErrorCode::ContextBadValue,
              "context variable " + std::string(key) + "='" + std::string(value) + "': " + why);
}

// Converts a core parse error (which names the value but not the variable) into
// one naming the variable too.
template <typename F>
auto typed(std::string_view key, std::string_view value, F&& parse) {
  try {
    return parse(value);
  } catch (const Error& e) {
    bad_value(key, value, e.what());
  }
}

int parse_int(std::string_view key, std::string_view value, int lo, int hi) {
  int n = 0;
  const auto t = trim(value);
  const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (t.empty() || ec != std::errc{} || ptr != t.data() + t.size() || n < lo || n > hi) {
    bad_value(key, value,
              "expected a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  return n;
}

template <typename E>
E parse_choice(std::string_view key, std::string_view value,
               std::initializer_list<std::pair<std::string_view, E>> choices, const char* hint) {
  const auto u = upper(trim(value));
  for (const auto& [name, e] : choices) {
    if (u == name) return e;
  }
  bad_value(key, value, hint);
}

bool is_true(std::string_view v) {
  const auto u = upper(trim(v));
  return u == "YES" || u == "TRUE" || u == "1" || u == "ON";
}

}  // namespace

std::optional<std::string> Context::get(std::string_view key) const {
  const auto it = vars_.find(key);
  if (it == vars_.end()) return std::nullopt;
  return it->second;
}

bool Context::flag(std::string_view key) const {
  const auto v = get(key);
  return v && is_true(*v);
}

std::vector<int> Context::nic_indexes() const {
  std::set<int> found;
  for (const auto& [key, value] : vars_) {
    if (!key.starts_with("ETH")) continue;
    std::size_t i = 3;
    while (i < key.size() && std::isdigit(static_cast<unsigned char>(key[i]))) ++i;
    if (i == 3 || i >= key.size() || key[i] != '_' || i - 3 > 4) continue;
    if (key[3] == '0' && i > 4) continue;  // "ETH01_" is not NIC 1
    int n = 0;
    std::from_chars(key.data() + 3, key.data() + i, n);
    found.insert(n);
  }
  return {found.begin(), found.end()};
}

NicContext Context::nic(int index) const {
  const std::string p = "ETH" + std::to_string(index) + "_";
  auto field = [&](const char* name) { return get(p + name); };
  NicContext nic;
  nic.index = index;
  nic.name = "eth" + std::to_string(index);
  if (auto v = field("MAC"))
    nic.mac = typed(p + "MAC", *v, [](auto s) { return Mac::parse(trim(s)); });
  if (auto v = field("IP"); v && !trim(*v).empty())
    nic.ip = typed(p + "IP", *v, [](auto s) { return Ipv4::parse(trim(s)); });
  if (auto v = field("MASK"); v && !trim(*v).empty())
    nic.prefix_length = typed(
        p + "MASK", *v, [](auto s) { return prefix_length_from_netmask(Ipv4::parse(trim(s))); });
  if (auto v = field("NETWORK"); v && !trim(*v).empty())
    nic.network = typed(p + "NETWORK", *v, [](auto s) { return Ipv4::parse(trim(s)); });
  if (auto v = field("GATEWAY"); v && !trim(*v).empty())
    nic.gateway = typed(p + "GATEWAY", *v, [](auto s) { return Ipv4::parse(trim(s)); });
  nic.dns = field("DNS") ? split_any(*field("DNS"), " \t,") : dns();
  nic.search_domains =
      field("SEARCH_DOMAIN") ? split_any(*field("SEARCH_DOMAIN"), " \t,") : search_domains();
  if (auto v = field("MTU"); v && !trim(*v).empty()) nic.mtu = parse_int(p + "MTU", *v, 68, 65535);
  if (auto v = field("ROUTES")) {
    for (const auto& r : split_any(*v, ",")) {
      const auto parts = split_any(r, " \t");
      if (parts.size() != 3 || parts[1] != "via") {
        bad_value(p + "ROUTES", *v, "route '" + r + "' is not of the form 'DEST/LEN via GATEWAY'");
      }
      Route route;
      route.destination = typed(p + "ROUTES", *v, [&](auto) {
        return parts[0].find('/') == std::string::npos ? Ipv4Cidr{Ipv4::parse(parts[0]), 32}
                                                       : Ipv4Cidr::parse(parts[0]);
      });
      route.gateway = typed(p + "ROUTES", *v, [&](auto) { return Ipv4::parse(parts[2]); });
      nic.routes.push_back(route);
    }
  }
  if (auto v = field("METHOD"); v && !trim(*v).empty()) {
    nic.method = parse_choice<NicMethod>(
        p + "METHOD", *v,
        {{"STATIC", NicMethod::Static}, {"DHCP", NicMethod::Dhcp}, {"SKIP", NicMethod::Skip}},
        "expected static, dhcp or skip");
  }
  if (auto v = field("IP6"); v && !trim(*v).empty())
    nic.ip6 = typed(p + "IP6", *v, [](auto s) { return Ipv6::parse(trim(s)); });
  if (auto v = field("IP6_PREFIX_LENGTH"); v && !trim(*v).empty())
    nic.ip6_prefix_length = parse_int(p + "IP6_PREFIX_LENGTH", *v, 1, 128);
  if (auto v = field("IP6_ULA"); v && !trim(*v).empty())
    nic.ip6_ula = typed(p + "IP6_ULA", *v, [](auto s) { return Ipv6::parse(trim(s)); });
  if (auto v = field("IP6_GATEWAY"); v && !trim(*v).empty())
    nic.ip6_gateway = typed(p + "IP6_GATEWAY", *v, [](auto s) { return Ipv6::parse(trim(s)); });
  if (auto v = field("IP6_METHOD"); v && !trim(*v).empty()) {
    nic.ip6_method = parse_choice<NicIp6Method>(p + "IP6_METHOD", *v,
                                                {{"STATIC", NicIp6Method::Static},
                                                 {"AUTO", NicIp6Method::Auto},
                                                 {"DHCP", NicIp6Method::Dhcp},
                                                 {"DISABLE", NicIp6Method::Disable},
                                                 {"SKIP", NicIp6Method::Skip}},
                                                "expected static, auto, dhcp, disable or skip");
  }
  return nic;
}

std::vector<NicContext> Context::nics() const {
  std::vector<NicContext> out;
  for (const int i : nic_indexes()) out.push_back(nic(i));
  return out;
}

std::vector<std::string> Context::dns() const {
  const auto v = get("DNS");
  return v ? split_any(*v, " \t,") : std::vector<std::string>{};
}

std::vector<std::string> Context::search_domains() const {
  const auto v = get("SEARCH_DOMAIN");
  return v ? split_any(*v, " \t,") : std::vector<std::string>{};
}

std::optional<std::string> Context::hostname() const {
  for (const char* key : {"SET_HOSTNAME", "HOSTNAME"}) {
    if (auto v = get(key); v && !trim(*v).empty()) return std::string(trim(*v));
  }
  return std::nullopt;
}

std::optional<std::string> Context::username() const {
  auto v = get("USERNAME");
  if (!v || trim(*v).empty()) return std::nullopt;
  return std::string(trim(*v));
}

std::vector<std::string> Context::ssh_public_keys() const {
  const auto v = get("SSH_PUBLIC_KEY");
  return v ? split_any(*v, "\n") : std::vector<std::string>{};
}

bool Context::network_enabled() const {
  const auto v = get("NETWORK");
  return !v || trim(*v).empty() || is_true(*v);
}

bool Context::token_requested() const { return flag("TOKEN"); }

std::vector<std::string> Context::files() const {
  const auto v = get("FILES");
  return v ? split_any(*v, " \t\n") : std::vector<std::string>{};
}

std::vector<std::string> Context::init_scripts() const {
  const auto v = get("INIT_SCRIPTS");
  return v ? split_any(*v, " \t\n") : std::vector<std::string>{};
}

std::optional<std::string> Context::start_script() const {
  if (auto v = get("START_SCRIPT_BASE64"); v && !trim(*v).empty()) {
    return typed("START_SCRIPT_BASE64", *v, [](auto s) { return base64_decode(s); });
  }
  if (auto v = get("START_SCRIPT"); v && !v->empty()) return v;
  return std::nullopt;
}

std::optional<std::string> Context::user_data(const UserDataLimits& limits) const {
  const auto v = get("USER_DATA");
  if (!v || v->empty()) return std::nullopt;
  UserDataEncoding enc = UserDataEncoding::Auto;
  if (auto e = get("USER_DATA_ENCODING"); e && !trim(*e).empty()) {
    enc = parse_choice<UserDataEncoding>("USER_DATA_ENCODING", *e,
                                         {{"BASE64", UserDataEncoding::Base64},
                                          {"NONE", UserDataEncoding::None},
                                          {"PLAIN", UserDataEncoding::None}},
                                         "expected base64 or none");
  }
  try {
    return decode_user_data(*v, enc, limits);
  } catch (const Error& e) {
    throw Error(e.code(), "context variable USER_DATA: " + std::string(e.what()));
  }
}

}  // namespace cloudtwin::core
