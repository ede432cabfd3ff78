#pragma once
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "cloudtwin/agent/agent.hpp"
#include "cloudtwin/agent/agent_config.hpp"

namespace cloudtwin::agent {

struct CliOptions {
  std::string command;  // local | final | status | vpn-supervise (internal)
  AgentOptions agent;
  std::optional<std::string> context_device;  // read this device or image, do not search
  std::optional<std::string> nocloud_device;  // the NoCloud seed's device or image
  int cd_attempts = 3;
  std::optional<std::string> config;        // default <root>/etc/cloudtwin/agent.conf
  std::optional<std::string> metadata_url;  // instead of 169.254.169.254 / [fd00:ec2::254]
  std::optional<std::string> datasources;   // "ec2" or "context ec2": overrides [datasources] order
  std::optional<int> vpn_wait;              // seconds: overrides [vpn] wait
};

// The config with [datasources] order replaced by a space/comma separated list.
// Throws Error(InvalidArgument) for an unknown name.
AgentConfig with_order(AgentConfig config, const std::string& list);

// Parses args (without argv[0]). Throws Error(InvalidArgument) naming the bad option.
CliOptions parse_cli(const std::vector<std::string>& args);

// Entry point of `cloudtwin-agent`: args exclude argv[0]. Returns the process exit code
// (0 ok or nothing to do, 1 a step failed, 2 usage).
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace cloudtwin::agent
