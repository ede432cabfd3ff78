#pragma once
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cloudtwin/agent/agent.hpp"
#include "cloudtwin/agent/agent_config.hpp"

namespace cloudtwin::agent {

struct CliOptions {
  std::string command;  // local | final | status | vpn-supervise (internal)
  AgentOptions agent;
  // datasource name -> its location option's value (--context-device x.iso: context -> x.iso)
  std::map<std::string, std::string> locations;
  int cd_attempts = 3;
  std::optional<std::string> config;       // default <root>/etc/cloudtwin/agent.conf
  std::optional<std::string> datasources;  // "ec2" or "context ec2": overrides [datasources] order
  std::optional<int> vpn_wait;             // seconds: overrides [vpn] wait
};

// The config with [datasources] order replaced by a space/comma separated list.
// Throws Error(InvalidArgument) for a name that is not in the datasource registry.
AgentConfig with_order(AgentConfig config, const std::string& list);

// Parses args (without argv[0]). Throws Error(InvalidArgument) naming the bad option.
// The datasources' location options come from the registry.
CliOptions parse_cli(const std::vector<std::string>& args);

// --help: the fixed part, then one line per datasource and location option.
std::string usage();

// Entry point of `cloudtwin-agent`: args exclude argv[0]. Returns the process exit code
// (0 ok or nothing to do, 1 a step failed, 2 usage).
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace cloudtwin::agent
