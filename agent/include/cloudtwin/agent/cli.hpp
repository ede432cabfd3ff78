#pragma once
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "cloudtwin/agent/agent.hpp"

namespace cloudtwin::agent {

struct CliOptions {
  std::string command;  // local | final | status
  AgentOptions agent;
  std::optional<std::string> context_device;  // read this device or image, do not search
  int cd_attempts = 3;
};

// Parses args (without argv[0]). Throws Error(InvalidArgument) naming the bad option.
CliOptions parse_cli(const std::vector<std::string>& args);

// Entry point of `cloudtwin-agent`: args exclude argv[0]. Returns the process exit code
// (0 ok or nothing to do, 1 a step failed, 2 usage).
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace cloudtwin::agent
