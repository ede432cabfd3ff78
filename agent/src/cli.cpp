#include "cloudtwin/agent/cli.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <ostream>

#include "cloudtwin/agent/access.hpp"
#include "cloudtwin/agent/adapters/beast_metadata_client.hpp"
#include "cloudtwin/agent/adapters/iso_disk.hpp"
#include "cloudtwin/agent/adapters/libnl_netlink.hpp"
#include "cloudtwin/agent/adapters/openvpn_supervisor.hpp"
#include "cloudtwin/agent/adapters/posix_process_runner.hpp"
#include "cloudtwin/agent/agent_config.hpp"
#include "cloudtwin/agent/datasource_registry.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"
#include "cloudtwin/core/version.hpp"

namespace cloudtwin::agent {

namespace {

constexpr const char* kUsageHead =
    "usage: cloudtwin-agent [--help] [--version]\n"
    "       cloudtwin-agent local|final|status [--root DIR] [--state-dir DIR] [--config FILE]\n"
    "                       [--datasources 'LIST'] [--cd-attempts N] [--vpn-wait SECONDS]\n"
    "                       [LOCATION OPTION PATH|URL]...\n"
    "\n"
    "cloudtwin-agent: guest agent: contextualizes a VM from a context CD, NoCloud or EC2 "
    "metadata.\n"
    "  local   find the context and configure the network (before the distro's networking)\n"
    "  final   hostname, users, SSH keys, user-data, overlay VPN (after the network is online)\n"
    "  status  print the last report (STATE-DIR/status.json)\n"
    "  --root DIR            write every file under DIR (default /)\n"
    "  --state-dir DIR       report directory, under the root (default /var/lib/cloudtwin-agent)\n"
    "  --config FILE         configuration (default ROOT/etc/cloudtwin/agent.conf; missing: "
    "defaults)\n"
    "  --datasources LIST    probe these, in order; overrides the config's [datasources] order\n"
    "  --cd-attempts N       look for a seed device's label N times, 100 ms apart (default 3)\n"
    "  --vpn-wait SECONDS    how long `final` waits for the overlay tunnel (default 20)\n";

[[noreturn]] void usage_error(const std::string& what) {
  throw Error(ErrorCode::InvalidArgument, what);
}

std::string joined(const std::vector<std::string>& names, const char* separator) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : separator) + n;
  return out;
}

const DatasourceKind* location_option(const std::string& arg) {
  for (const auto& k : datasource_kinds()) {
    if (!k.location_option.empty() && k.location_option == arg) return &k;
  }
  return nullptr;
}

void set_hostname_syscall(const std::string& name) {
  if (::sethostname(name.data(), name.size()) != 0) {
    throw Error(ErrorCode::System,
                "cannot set the host name to '" + name + "': " + std::strerror(errno));
  }
}

AgentConfig load_config(const CliOptions& o) {
  const std::string path =
      o.config.value_or(under_root(o.agent.root, "/etc/cloudtwin/agent.conf").string());
  std::error_code ec;
  AgentConfig config;
  if (std::filesystem::exists(path, ec))
    config = parse_agent_config(read_or_empty(path), path);
  else if (o.config)
    throw Error(ErrorCode::NotFound, "configuration " + path + " does not exist");
  if (o.datasources) config = with_order(config, *o.datasources);
  check_datasource_config(config);
  return config;
}

}  // namespace

std::string usage() {
  std::string text = kUsageHead;
  text += "datasources (default order: " + joined(datasource_names(), " ") + "):\n";
  for (const auto& k : datasource_kinds()) {
    text +=
        "  " + std::string(k.name) + std::string(k.name.size() < 8 ? 8 - k.name.size() : 1, ' ');
    text += std::string(k.description) + "\n";
  }
  for (const auto& k : datasource_kinds()) {
    if (k.location_option.empty()) continue;
    const std::string option =
        std::string(k.location_option) + (k.location_is_disk ? " PATH" : " URL");
    text += "  " + option + std::string(option.size() < 21 ? 22 - option.size() : 1, ' ');
    text += std::string(k.location_help) + "\n";
  }
  return text;
}

AgentConfig with_order(AgentConfig config, const std::string& list) {
  const auto names = datasource_names();
  auto order = core::words(list);
  for (const auto& word : order) {
    if (std::find(names.begin(), names.end(), word) == names.end())
      throw Error(ErrorCode::InvalidArgument,
                  "--datasources: unknown datasource '" + word + "' (" + joined(names, ", ") + ")");
  }
  config.order = std::move(order);
  return config;
}

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
    else if (const auto* kind = location_option(a))
      o.locations[std::string(kind->name)] = value();
    else if (a == "--config")
      o.config = value();
    else if (a == "--datasources")
      o.datasources = value();
    else if (a == "--cd-attempts") {
      const auto& v = value();
      const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), o.cd_attempts);
      if (ec != std::errc{} || p != v.data() + v.size() || o.cd_attempts < 1 || o.cd_attempts > 600)
        usage_error("--cd-attempts '" + v + "': expected a number from 1 to 600");
    } else if (a == "--vpn-wait") {
      const auto& v = value();
      int n = 0;
      const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc{} || p != v.data() + v.size() || n < 0 || n > 600)
        usage_error("--vpn-wait '" + v + "': expected a number of seconds from 0 to 600");
      o.vpn_wait = n;
    } else if (o.command.empty() &&
               (a == "local" || a == "final" || a == "status" || a == "vpn-supervise")) {
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
    out << usage();
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
    err << "cloudtwin-agent: " << e.what() << "\n" << usage();
    return 2;
  }
  if (o.command == "vpn-supervise") return run_openvpn_supervisor(supervisor_options(o.agent.root));
  if (o.command == "status") {
    // Never depends on the configuration: it must print JSON even when that is broken.
    return Agent(o.agent, {}, make_libnl_netlink, out, err).status();
  }
  AgentConfig config;
  BlkidLocator locator;
  SourceRun run;
  run.stage = o.command;
  run.root = o.agent.root;
  run.device_attempts = o.cd_attempts;
  run.locator = &locator;
  run.open_disk = open_iso_disk;
  run.metadata_client = make_beast_metadata_client;
  std::vector<std::unique_ptr<Datasource>> sources;
  try {
    config = load_config(o);
    sources = make_datasources(run, config, o.locations);
  } catch (const Error& e) {
    err << "cloudtwin-agent: " << e.what() << "\n";
    return 2;
  }
  const auto runner = make_posix_process_runner();
  o.agent.renderer = config.renderer;
  o.agent.plan.mac_prefix = config.mac_prefix;
  o.agent.vpn_wait =
      std::chrono::seconds(o.vpn_wait.value_or(static_cast<int>(config.vpn_wait.count())));
  // systemd's unit only for the real system: with --root, the supervisor (tests, images).
  const bool systemd = o.agent.root == "/" && std::filesystem::exists("/run/systemd/system");
  auto tunnel = [&o, &runner, systemd]() -> std::unique_ptr<TunnelService> {
    if (systemd)
      return make_systemd_tunnel(
          o.agent.root, under_root(o.agent.root, o.agent.state_dir) / "systemctl.log", *runner);
    return make_supervised_openvpn(supervisor_options(o.agent.root));
  };
  Agent agent(o.agent, std::move(sources), make_libnl_netlink, out, err, set_hostname_syscall,
              runner.get(), tunnel);
  if (o.command == "local") {
    const int rc = agent.local();
    for (const auto& then : run.after_local) then(err);
    return rc;
  }
  if (o.command == "final") return agent.final_stage();
  return agent.status();
}

}  // namespace cloudtwin::agent
