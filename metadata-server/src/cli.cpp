#include "cloudtwin/metadata/cli.hpp"

#include <ostream>

#include "cloudtwin/core/version.hpp"

namespace cloudtwin::metadata {

namespace {
constexpr const char* kUsage =
    "usage: cloudtwin-metadata [--help] [--version]\n"
    "\n"
    "cloudtwin-metadata: EC2-compatible instance metadata service, one answer per VM.\n";
}  // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    out << kUsage;
    return 0;
  }
  if (args[0] == "--version") {
    out << "cloudtwin-metadata " << kVersion << "\n";
    return 0;
  }
  err << "cloudtwin-metadata: unknown command or option '" << args[0] << "'\n" << kUsage;
  return 2;
}

}  // namespace cloudtwin::metadata
