#include "cloudtwin/agent/cli.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <ostream>

#include "cloudtwin/agent/access.hpp"
#include "cloudtwin/agent/adapters/beast_metadata_client.hpp"
#include "cloudtwin/agent/adapters/iso_disk.hpp"
#include "cloudtwin/agent/adapters/libnl_netlink.hpp"
#include "cloudtwin/agent/adapters/openvpn_supervisor.hpp"
#include "cloudtwin/agent/adapters/posix_process_runner.hpp"
#include "cloudtwin/agent/agent_config.hpp"
#include "cloudtwin/agent/context_cd.hpp"
#include "cloudtwin/agent/ec2.hpp"
#include "cloudtwin/agent/metadata_cache.hpp"
#include "cloudtwin/agent/nocloud.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/version.hpp"

namespace cloudtwin::agent {

namespace {
// `local`'s EC2 crawl for `final` (see metadata_cache.hpp); under --root.
constexpr const char* kCrawlCache = "/run/cloudtwin-agent/ec2-metadata.json";

constexpr const char* kUsage =
    "usage: cloudtwin-agent [--help] [--version]\n"
    "       cloudtwin-agent local|final|status [--root DIR] [--state-dir DIR]\n"
    "                       [--context-device PATH] [--nocloud-device PATH] [--cd-attempts N]\n"
    "                       [--config FILE]\n"
    "                       [--metadata-url URL] [--datasources 'LIST'] [--vpn-wait SECONDS]\n"
    "\n"
    "cloudtwin-agent: guest agent: contextualizes a VM from a context CD, NoCloud or EC2 "
    "metadata.\n"
    "  local   find the context and configure the network (before the distro's networking)\n"
    "  final   hostname, users, SSH keys, user-data, overlay VPN (after the network is online)\n"
    "  status  print the last report (STATE-DIR/status.json)\n"
    "  --root DIR            write every file under DIR (default /)\n"
    "  --state-dir DIR       report directory, under the root (default /var/lib/cloudtwin-agent)\n"
    "  --context-device PATH read the context CD from this device or ISO file\n"
    "  --nocloud-device PATH read the NoCloud seed (cidata) from this device or ISO file\n"
    "  --cd-attempts N       look for the CONTEXT label N times, 100 ms apart (default 3)\n"
    "  --config FILE         configuration (default ROOT/etc/cloudtwin/agent.conf; missing: "
    "defaults)\n"
    "  --metadata-url URL    EC2 metadata service, e.g. http://127.0.0.1:8080 (an IP, never a "
    "name)\n"
    "  --datasources LIST    probe these, in order (context nocloud ec2); overrides the config\n"
    "  --vpn-wait SECONDS    how long `final` waits for the overlay tunnel (default 20)\n";

[[noreturn]] void usage_error(const std::string& what) {
  throw Error(ErrorCode::InvalidArgument, what);
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
  return config;
}

// The kernel's id of this boot: a crawl cached in another boot is never replayed.
std::string boot_id() {
  std::string id = read_or_empty("/proc/sys/kernel/random/boot_id");
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

std::filesystem::path crawl_path(const CliOptions& o) {
  return under_root(o.agent.root, kCrawlCache);
}

std::map<std::string, MetadataResponse> load_crawl(const CliOptions& o,
                                                   const std::string& endpoint) {
  const auto path = crawl_path(o);
  const std::string text = read_or_empty(path);
  if (text.empty()) return {};
  try {
    auto cache = parse_metadata_cache(text, path.string());
    if (cache.boot_id != boot_id() || cache.boot_id.empty() || cache.endpoint != endpoint)
      return {};
    return std::move(cache.responses);
  } catch (const Error&) {
    return {};  // a broken cache is no cache: crawl again
  }
}

// After `local`: what it read from the service, 0600 in a 0700 directory under /run.
void save_crawl(const CliOptions& o, const CachingMetadataClient* cache, std::ostream& err) {
  if (cache == nullptr || cache->recorded().empty()) return;
  try {
    const auto path = crawl_path(o);
    std::filesystem::create_directories(path.parent_path());
    std::filesystem::permissions(path.parent_path(), std::filesystem::perms::owner_all);
    write_file_atomic(
        path, render_metadata_cache({boot_id(), cache->endpoint(), cache->recorded()}), 0600);
  } catch (const std::exception& e) {
    err << "cloudtwin-agent: cannot keep the metadata crawl for `final` (it will ask again): "
        << e.what() << "\n";
  }
}

std::vector<std::unique_ptr<Datasource>> make_sources(
    const CliOptions& o, const AgentConfig& config, DiskLocator& locator,
    std::vector<std::unique_ptr<MetadataClient>>& clients, CachingMetadataClient** cache) {
  std::vector<std::unique_ptr<Datasource>> sources;
  for (const auto& name : config.order) {
    if (name == "context") {
      ContextCdOptions cd;
      cd.device = o.context_device;
      cd.attempts = o.command == "final" ? 1 : o.cd_attempts;
      cd.retry_delay = std::chrono::milliseconds(100);
      sources.push_back(std::make_unique<ContextCdDatasource>(locator, open_iso_disk, cd));
    } else if (name == "nocloud" && (o.nocloud_device || !o.context_device)) {
      ContextCdOptions seed;
      seed.label = "cidata";
      seed.device = o.nocloud_device;
      seed.attempts = o.command == "final" ? 1 : o.cd_attempts;
      seed.retry_delay = std::chrono::milliseconds(100);
      sources.push_back(std::make_unique<NoCloudDatasource>(locator, open_iso_disk, seed));
    } else if (name == "ec2" && ((!o.context_device && !o.nocloud_device) || o.metadata_url)) {
      auto endpoints = o.metadata_url
                           ? std::vector<MetadataEndpoint>{parse_metadata_url(*o.metadata_url)}
                           : default_metadata_endpoints();
      clients.push_back(make_beast_metadata_client(std::move(endpoints), config.metadata_timeout));
      // `final` replays `local`'s crawl of this boot; `local` always asks the service.
      auto replay = o.command == "final" ? load_crawl(o, clients.back()->endpoint())
                                         : std::map<std::string, MetadataResponse>{};
      auto caching = std::make_unique<CachingMetadataClient>(*clients.back(), std::move(replay));
      *cache = caching.get();
      clients.push_back(std::move(caching));
      Ec2Options ec2;
      ec2.allow_imdsv1 = config.allow_imdsv1;
      ec2.token_ttl = config.token_ttl;
      // `final` runs after network-online: the service answers now or not at all.
      ec2.max_wait = o.command == "final" ? std::chrono::milliseconds(0)
                                          : std::chrono::milliseconds(config.metadata_max_wait);
      sources.push_back(std::make_unique<Ec2Datasource>(*clients.back(), ec2));
    }
  }
  return sources;
}

}  // namespace

AgentConfig with_order(AgentConfig config, const std::string& list) {
  config.order.clear();
  std::string word;
  for (const char c : list + " ") {
    if (c != ' ' && c != ',') {
      word += c;
      continue;
    }
    if (word.empty()) continue;
    if (word != "context" && word != "nocloud" && word != "ec2")
      throw Error(ErrorCode::InvalidArgument,
                  "--datasources: unknown datasource '" + word + "' (context, nocloud, ec2)");
    config.order.push_back(word);
    word.clear();
  }
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
    else if (a == "--context-device")
      o.context_device = value();
    else if (a == "--nocloud-device")
      o.nocloud_device = value();
    else if (a == "--config")
      o.config = value();
    else if (a == "--metadata-url")
      o.metadata_url = value();
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
  if (o.command == "vpn-supervise") return run_openvpn_supervisor(supervisor_options(o.agent.root));
  if (o.command == "status") {
    // Never depends on the configuration: it must print JSON even when that is broken.
    return Agent(o.agent, {}, make_libnl_netlink, out, err).status();
  }
  AgentConfig config;
  std::vector<std::unique_ptr<MetadataClient>> clients;
  CachingMetadataClient* crawl = nullptr;
  BlkidLocator locator;
  std::vector<std::unique_ptr<Datasource>> sources;
  try {
    config = load_config(o);
    sources = make_sources(o, config, locator, clients, &crawl);
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
    save_crawl(o, crawl, err);
    return rc;
  }
  if (o.command == "final") return agent.final_stage();
  return agent.status();
}

}  // namespace cloudtwin::agent
