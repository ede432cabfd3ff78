#pragma once
// /etc/cloudtwin/agent.conf (see config/agent.conf for every key and its default).
// A small INI parser of our own: pure, so tests are tables, and no Poco::Util in the
// guest's boot path.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/core/mac_ip.hpp"

namespace cloudtwin::agent {

struct AgentConfig {
  std::vector<std::string> order = {"context", "nocloud", "ec2"};
  std::chrono::seconds device_timeout{10};
  std::chrono::seconds metadata_timeout{2};
  std::chrono::seconds metadata_max_wait{60};
  bool allow_imdsv1 = false;
  int token_ttl = 21600;
  std::string renderer = "auto";  // auto | networkd | ifupdown | networkmanager
  // [network] mac_prefix: the host's `net create --mac-prefix` (MAC = prefix + IPv4).
  core::MacPrefix mac_prefix = core::kDefaultMacPrefix;
  std::string log_level = "info";
  std::chrono::seconds vpn_wait{20};  // [vpn] wait: for the overlay tunnel in `final`
};

// Parses the INI text; `source` names the file in messages. Unknown sections and keys
// are ignored (a newer conffile on an older agent must not stop the boot); bad values
// throw ParseError(ContextBadValue) with source:line.
AgentConfig parse_agent_config(std::string_view text, const std::string& source);

}  // namespace cloudtwin::agent
