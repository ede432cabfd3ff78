#include "cloudtwin/vpn/cli.hpp"

#include <ostream>

#include "cloudtwin/core/version.hpp"

namespace cloudtwin::vpn {

namespace {
constexpr const char* kUsage =
    "usage: cloudtwin vpn [--help] [--version]\n"
    "\n"
    "cloudtwin vpn: overlay network tooling: OpenVPN PKI, server and client profiles.\n";
}  // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    out << kUsage;
    return 0;
  }
  if (args[0] == "--version") {
    out << "cloudtwin vpn " << kVersion << "\n";
    return 0;
  }
  err << "cloudtwin vpn: unknown command or option '" << args[0] << "'\n" << kUsage;
  return 2;
}

}  // namespace cloudtwin::vpn
