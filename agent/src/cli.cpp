#include "cloudtwin/agent/cli.hpp"

#include <ostream>

#include "cloudtwin/core/version.hpp"

namespace cloudtwin::agent {

namespace {
constexpr const char* kUsage =
    "usage: cloudtwin-agent [--help] [--version]\n"
    "\n"
    "cloudtwin-agent: guest agent: contextualizes a VM from a context CD, NoCloud or EC2 metadata.\n";
}  // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    out << kUsage;
    return 0;
  }
  if (args[0] == "--version") {
    out << "cloudtwin-agent " << kVersion << "\n";
    return 0;
  }
  err << "cloudtwin-agent: unknown command or option '" << args[0] << "'\n" << kUsage;
  return 2;
}

}  // namespace cloudtwin::agent
