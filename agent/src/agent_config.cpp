#include "cloudtwin/agent/agent_config.hpp"

#include <algorithm>
#include <charconv>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::agent {

namespace {

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
    const std::string v = core::lower(value);
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
  c.source = source;
  c.entries = core::parse_ini(text, source);
  for (const auto& entry : c.entries) {
    const Line line{source, entry.line, entry.key};
    const std::string_view value = entry.value;
    const auto& k = line.key;
    if (k == "datasources.order") {
      c.order = core::words(value);
      c.order_line = entry.line;
    } else if (k == "datasources.device_timeout") {
      c.device_timeout = std::chrono::seconds(line.number_in(value, 0, 600));
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

int setting_value(const AgentConfig& config, const SettingSpec& spec) {
  // The last line wins, as for the agent's own keys.
  const auto it = std::find_if(config.entries.rbegin(), config.entries.rend(),
                               [&](const core::IniEntry& e) { return e.key == spec.key; });
  if (it == config.entries.rend()) return spec.fallback;
  const Line line{config.source, it->line, it->key};
  return spec.boolean ? int{line.boolean(it->value)}
                      : line.number_in(it->value, spec.min, spec.max);
}

void check_order(const AgentConfig& config, const std::vector<std::string>& known) {
  const Line line{config.source, config.order_line, "datasources.order"};
  for (const auto& name : config.order.value_or(known)) line.one_of(name, known);
}

}  // namespace cloudtwin::agent
