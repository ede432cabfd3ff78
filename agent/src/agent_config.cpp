#include "cloudtwin/agent/agent_config.hpp"

#include <algorithm>
#include <charconv>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/ini.hpp"

namespace cloudtwin::agent {

namespace {

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ',')) ++i;
    const auto start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != ',') ++i;
    if (i > start) out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

struct Line {
  const std::string& source;
  std::size_t number;
  std::string key;
  [[noreturn]] void bad(std::string_view value, const std::string& expected) const {
    throw ParseError(ErrorCode::ContextBadValue, source, number, 1,
                     key + " = '" + std::string(value) + "': expected " + expected);
  }
  int number_in(std::string_view value, int lo, int hi) const {
    int v = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc{} || p != value.data() + value.size() || v < lo || v > hi)
      bad(value, "a number from " + std::to_string(lo) + " to " + std::to_string(hi));
    return v;
  }
  bool boolean(std::string_view value) const {
    std::string v(value);
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
    if (v == "false" || v == "no" || v == "off" || v == "0") return false;
    bad(value, "true or false");
  }
  std::string one_of(std::string_view value, const std::vector<std::string>& allowed) const {
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      bad(value, "one of " + list);
    }
    return std::string(value);
  }
};

}  // namespace

AgentConfig parse_agent_config(std::string_view text, const std::string& source) {
  AgentConfig c;
  for (const auto& entry : core::parse_ini(text, source)) {
    const Line line{source, entry.line, entry.key};
    const std::string_view value = entry.value;
    const auto& k = line.key;
    if (k == "datasources.order") {
      c.order = words(value);
      for (const auto& w : c.order) line.one_of(w, {"context", "nocloud", "ec2"});
    } else if (k == "datasources.device_timeout") {
      c.device_timeout = std::chrono::seconds(line.number_in(value, 0, 600));
    } else if (k == "datasources.metadata_timeout") {
      c.metadata_timeout = std::chrono::seconds(line.number_in(value, 1, 60));
    } else if (k == "datasources.metadata_max_wait") {
      c.metadata_max_wait = std::chrono::seconds(line.number_in(value, 0, 3600));
    } else if (k == "ec2.allow_imdsv1") {
      c.allow_imdsv1 = line.boolean(value);
    } else if (k == "ec2.token_ttl") {
      c.token_ttl = line.number_in(value, 1, 21600);
    } else if (k == "network.renderer") {
      c.renderer = line.one_of(value, {"auto", "networkd", "ifupdown", "networkmanager"});
    } else if (k == "network.mac_prefix") {
      try {
        c.mac_prefix = core::MacPrefix::parse(value);
      } catch (const Error&) {
        line.bad(value, "two hex bytes such as 02:00 (the host's net create --mac-prefix)");
      }
    } else if (k == "vpn.wait") {
      c.vpn_wait = std::chrono::seconds(line.number_in(value, 0, 600));
    } else if (k == "logging.level") {
      c.log_level = line.one_of(value, {"debug", "info", "warning", "error"});
    }
  }
  return c;
}

}  // namespace cloudtwin::agent
