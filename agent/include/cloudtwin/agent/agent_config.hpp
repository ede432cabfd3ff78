#pragma once
// /etc/cloudtwin/agent.conf (see config/agent.conf for every key and its default).
// Pure, so tests are tables, and no Poco::Util in the guest's boot path. The keys a
// datasource reads are declared in its row of the registry (datasource_registry.hpp),
// which checks them: this file knows only the agent's own keys.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/core/ini.hpp"
#include "cloudtwin/core/mac_ip.hpp"

namespace cloudtwin::agent {

// A key of agent.conf that a datasource reads: a number in [min, max], or a boolean
// (true/yes/on/1, false/no/off/0 -> 1/0).
struct SettingSpec {
  std::string_view key;  // "ec2.token_ttl"
  int min = 0;
  int max = 0;
  int fallback = 0;  // the default (config/agent.conf shows it)
  bool boolean = false;
};

struct AgentConfig {
  // [datasources] order (or --datasources); none: every registered datasource, in the
  // registry's order.
  std::optional<std::vector<std::string>> order;
  std::string renderer = "auto";  // auto | networkd | ifupdown | networkmanager
  // [network] mac_prefix: the host's `net create --mac-prefix` (MAC = prefix + IPv4).
  core::MacPrefix mac_prefix = core::kDefaultMacPrefix;
  std::string log_level = "info";
  std::chrono::seconds vpn_wait{20};  // [vpn] wait: for the overlay tunnel in `final`
  // [datasources] device_timeout: checked, not used yet (the seed devices are searched
  // --cd-attempts times, 100 ms apart: 10 s per absent device would delay every EC2 boot).
  std::chrono::seconds device_timeout{10};

  // For the datasources' keys: where the file was read, where order was, every entry.
  std::string source;
  std::size_t order_line = 0;
  std::vector<core::IniEntry> entries;
};

// Parses the INI text; `source` names the file in messages. Unknown sections and keys
// are ignored (a newer conffile on an older agent must not stop the boot); bad values
// throw ParseError(ContextBadValue) with source:line.
AgentConfig parse_agent_config(std::string_view text, const std::string& source);

// The value of a datasource's key: the file's (checked) or the spec's default. Throws
// ParseError(ContextBadValue) with source:line for a bad value.
int setting_value(const AgentConfig& config, const SettingSpec& spec);

// Throws ParseError(ContextBadValue) at order's line for a name not in `known`.
void check_order(const AgentConfig& config, const std::vector<std::string>& known);

}  // namespace cloudtwin::agent
