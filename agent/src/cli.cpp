#include "cloudtwin/agent/cli.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ostream>

#include "cloudtwin/agent/adapters/iso_disk.hpp"
#include "cloudtwin/agent/adapters/libnl_netlink.hpp"
#include "cloudtwin/agent/context_cd.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/version.hpp"

namespace cloudtwin::agent {

namespace {
constexpr const char* kUsage =
    "usage: cloudtwin-agent [--help] [--version]\n"
    "       cloudtwin-agent local|final|status [--root DIR] [--state-dir DIR]\n"
    "                       [--context-device PATH] [--cd-attempts N]\n"
    "\n"
    "cloudtwin-agent: guest agent: contextualizes a VM from a context CD, NoCloud or EC2 "
    "metadata.\n"
    "  local   find the context and configure the network (before the distro's networking)\n"
    "  final   hostname and SSH keys (after the network is online)\n"
    "  status  print the last report (STATE-DIR/status.json)\n"
    "  --root DIR            write every file under DIR (default /)\n"
    "  --state-dir DIR       report directory, under the root (default /var/lib/cloudtwin-agent)\n"
    "  --context-device PATH read the context CD from this device or ISO file\n"
    "  --cd-attempts N       look for the CONTEXT label N times, 100 ms apart (default 3)\n";

[[noreturn]] void usage_error(const std::string& what) {
  throw Error(ErrorCode::InvalidArgument, what);
}

void set_hostname_syscall(const std::string& name) {
  if (::sethostname(name.data(), name.size()) != 0) {
    throw Error(ErrorCode::System,
                "cannot set the host name to '" + name + "': " + std::strerror(errno));
  }
}

}  // namespace

CliOptions parse_cli(const std::vector<std::string>& args) {
  CliOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) usage_error("option " + a + " needs a value");
      return args[++i];
    };
    if (a == "--root")
      o.agent.root = value();
    else if (a == "--state-dir")
      o.agent.state_dir = value();
    else if (a == "--context-device")
      o.context_device = value();
    else if (a == "--cd-attempts") {
      const auto& v = value();
      const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), o.cd_attempts);
      if (ec != std::errc{} || p != v.data() + v.size() || o.cd_attempts < 1 || o.cd_attempts > 600)
        usage_error("--cd-attempts '" + v + "': expected a number from 1 to 600");
    } else if (o.command.empty() && (a == "local" || a == "final" || a == "status")) {
      o.command = a;
    } else {
      usage_error("unknown command or option '" + a + "'");
    }
  }
  if (o.command.empty()) usage_error("no command: expected local, final or status");
  o.agent.set_kernel_hostname = o.agent.root == "/";
  return o;
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    out << kUsage;
    return 0;
  }
  if (args[0] == "--version") {
    out << "cloudtwin-agent " << kVersion << "\n";
    return 0;
  }
  CliOptions o;
  try {
    o = parse_cli(args);
  } catch (const Error& e) {
    err << "cloudtwin-agent: " << e.what() << "\n" << kUsage;
    return 2;
  }
  BlkidLocator locator;
  ContextCdOptions cd;
  cd.device = o.context_device;
  cd.attempts = o.command == "final" ? 1 : o.cd_attempts;
  cd.retry_delay = std::chrono::milliseconds(100);
  std::vector<std::unique_ptr<Datasource>> sources;
  sources.push_back(std::make_unique<ContextCdDatasource>(locator, open_iso_disk, cd));
  if (!o.context_device) {
    sources.push_back(make_nocloud_stub());
    sources.push_back(make_ec2_stub());
  }
  Agent agent(o.agent, std::move(sources), make_libnl_netlink, out, err, set_hostname_syscall);
  if (o.command == "local") return agent.local();
  if (o.command == "final") return agent.final_stage();
  return agent.status();
}

}  // namespace cloudtwin::agent
