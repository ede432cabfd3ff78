#include "cloudtwin/host/cli.hpp"

#include <ostream>

#include "cloudtwin/core/version.hpp"
#include "cloudtwin/vpn/cli.hpp"

namespace cloudtwin::host {

namespace {
constexpr const char* kUsage =
    "usage: cloudtwin [--help] [--version]\n"
    "       cloudtwin vpn ...   overlay network (see cloudtwin vpn --help)\n"
    "\n"
    "cloudtwin: host CLI: networks, images and VMs on libvirt.\n";
}  // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    out << kUsage;
    return 0;
  }
  if (args[0] == "--version") {
    out << "cloudtwin " << kVersion << "\n";
    return 0;
  }
  if (args[0] == "vpn") {
    return vpn::run_cli(std::vector<std::string>(args.begin() + 1, args.end()), out, err);
  }
  err << "cloudtwin: unknown command or option '" << args[0] << "'\n" << kUsage;
  return 2;
}

}  // namespace cloudtwin::host
