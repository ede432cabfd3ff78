#include "cloudtwin/metadata/cli.hpp"

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/version.hpp"
#include "cloudtwin/metadata/ctl.hpp"
#include "cloudtwin/metadata/ctl_socket.hpp"
#include "cloudtwin/metadata/libnl_neighbor_table.hpp"
#include "cloudtwin/metadata/libvirt_store.hpp"
#include "cloudtwin/metadata/openssl_signer.hpp"
#include "cloudtwin/metadata/os_random.hpp"

namespace cloudtwin::metadata {

namespace {

constexpr const char* kUsage =
    "usage: cloudtwin-metadata [options]\n"
    "\n"
    "cloudtwin-metadata: EC2-compatible instance metadata service, one answer per VM.\n"
    "\n"
    "  --listen ADDR:PORT[@DEV]  listen here (repeatable; [v6]:port for IPv6; @DEV binds the\n"
    "                            socket to a device). Default 169.254.169.254:80 "
    "[fd00:ec2::254]:80\n"
    "  --libvirt URI             read instance records from libvirt domain metadata and follow\n"
    "                            domain events (default: [server] libvirt_uri, qemu:///system)\n"
    "  --records DIR             read them from DIR instead, one JSON file per VM, reloaded on\n"
    "                            change (inotify); also --instances DIR\n"
    "  --ctl-socket PATH         root-only socket of `ctl` (default /run/cloudtwin/metadata.sock)\n"
    "  --identity-key FILE       host key signing identity documents (generated with\n"
    "  --identity-cert FILE      a self-signed certificate when both are missing)\n"
    "  --config FILE             INI settings (default /etc/cloudtwin/metadata.conf if present)\n"
    "  --access-log              log method, path, status and source of each request\n"
    "  --help, --version\n"
    "\n"
    "usage: cloudtwin-metadata ctl [--socket PATH] COMMAND   (talks to the running daemon)\n"
    "  list                                        VMs served and their notices\n"
    "  spot VM terminate|stop|hibernate [--in S]   spot interruption notice (default in 120 s)\n"
    "  spot VM clear\n"
    "  event VM maintenance CODE [--in S] [--duration S] [--description TEXT]\n"
    "  event VM complete|cancel EVENT-ID\n"
    "  rebalance VM [clear]                        rebalance recommendation\n"
    "  lifecycle VM STATE|clear                    autoscaling/target-lifecycle-state\n"
    "  clear VM                                    remove every notice of VM\n";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::Io, path + ": cannot be read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The host's machine id (systemd's, else D-Bus's), else its host name: stable across
// restarts, which is all the derived account id needs.
std::string host_machine_id() {
  for (const char* path : {"/etc/machine-id", "/var/lib/dbus/machine-id"}) {
    std::ifstream in(path);
    std::string id;
    if (in >> id && !id.empty()) return id;
  }
  char name[256] = "";
  ::gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace

CliOptions parse_cli(const std::vector<std::string>& args) {
  CliOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    const auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size())
        throw Error(ErrorCode::InvalidArgument, "option '" + a + "' needs a value");
      return args[++i];
    };
    if (a == "--help" || a == "-h")
      o.help = true;
    else if (a == "--version")
      o.version = true;
    else if (a == "--listen")
      o.listen.push_back(ListenSpec::parse(value()));
    else if (a == "--instances" || a == "--records")
      o.instances_dir = value();
    else if (a == "--libvirt")
      o.libvirt_uri = value();
    else if (a == "--ctl-socket")
      o.ctl_socket = value();
    else if (a == "--identity-key")
      o.identity_key = value();
    else if (a == "--identity-cert")
      o.identity_cert = value();
    else if (a == "--config")
      o.config_file = value();
    else if (a == "--access-log")
      o.access_log = true;
    else
      throw Error(ErrorCode::InvalidArgument, "unknown command or option '" + a + "'");
  }
  return o;
}

Config effective_config(const CliOptions& o, const std::optional<std::string>& config_text,
                        const std::string& config_source, std::vector<std::string>& warnings) {
  Config c;
  if (config_text) warnings = apply_ini(c, *config_text, config_source);
  if (!o.listen.empty()) c.listen = o.listen;
  if (o.libvirt_uri) {
    c.libvirt_uri = *o.libvirt_uri;
    c.instances_dir.clear();
  }
  if (o.instances_dir) c.instances_dir = *o.instances_dir;
  if (o.ctl_socket) c.ctl_socket = *o.ctl_socket;
  if (o.identity_key) c.identity_key = *o.identity_key;
  if (o.identity_cert) c.identity_cert = *o.identity_cert;
  if (o.access_log) c.access_log = true;
  return c;
}

namespace {

int run_ctl(std::vector<std::string> args, std::ostream& out, std::ostream& err) {
  std::string socket = kDefaultCtlSocket;
  if (args.size() >= 2 && args[0] == "--socket") {
    socket = args[1];
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.empty() || args[0] == "--help") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? 2 : 0;
  }
  return run_ctl_client(socket, args, out, err);
}

// sd_notify(READY=1) for Type=notify; a no-op when not started by systemd.
void notify_ready(std::size_t instances) {
  const auto status = "READY=1\nSTATUS=serving " + std::to_string(instances) + " instance(s)";
  sd_notify(0, status.c_str());
}

}  // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (!args.empty() && args[0] == "ctl") return run_ctl({args.begin() + 1, args.end()}, out, err);
  CliOptions options;
  try {
    options = parse_cli(args);
  } catch (const Error& e) {
    err << "cloudtwin-metadata: " << e.what() << "\n" << kUsage;
    return 2;
  }
  if (options.help) {
    out << kUsage;
    return 0;
  }
  if (options.version) {
    out << "cloudtwin-metadata " << kVersion << "\n";
    return 0;
  }
  std::optional<std::string> text;
  const std::string source = options.config_file.value_or(kDefaultConfigFile);
  if (options.config_file || std::filesystem::exists(source)) text = read_file(source);
  std::vector<std::string> warnings;
  const auto config = effective_config(options, text, source, warnings);

  std::mutex log_mutex;
  const LogSink log = [&err, &log_mutex](const std::string& line) {
    const std::lock_guard lock(log_mutex);
    err << "cloudtwin-metadata: " << line << "\n" << std::flush;
  };
  for (const auto& w : warnings) log(w);
  const auto signer = OpenSslIdentitySigner::load_or_create(
      config.identity_key, config.identity_cert, config.identity_rsa2048_key,
      config.identity_rsa2048_cert);
  const HostIdentity host(
      signer.get(),
      config.account_id.empty() ? derive_account_id(host_machine_id()) : config.account_id,
      [] { return std::chrono::system_clock::now(); });
  std::unique_ptr<InstanceStore> records;
  std::string records_from;
  if (!config.instances_dir.empty()) {
    auto dir = std::make_unique<DirectoryInstanceStore>(config.instances_dir, &host, log,
                                                        DirectoryInstanceStore::kNoRescanFromFind,
                                                        config.record_defaults);
    dir->reload();
    dir->watch();  // rescans on inotify events, never on a request's path
    records = std::move(dir);
    records_from = config.instances_dir;
  } else {
    records = std::make_unique<LibvirtInstanceStore>(config.libvirt_uri, &host, log,
                                                     config.record_defaults);
    records_from = "libvirt " + config.libvirt_uri;
  }
  NoticeBoard board;
  NoticeStore store(*records, board, &host);
  std::unique_ptr<CtlServer> ctl;
  if (!config.ctl_socket.empty()) {
    ctl = std::make_unique<CtlServer>(
        config.ctl_socket,
        [&board, &store](const std::vector<std::string>& words) {
          return board.execute(words, store.all(), std::chrono::system_clock::now());
        },
        log);
  }
  OsRandom random;
  TokenService tokens(random);
  IdentityCredentials credentials(random, [] { return std::chrono::system_clock::now(); });
  const Handler handler(tokens, config.token_ttl_max, &credentials);
  LibnlNeighborTable neighbors;
  ServerOptions server_options;
  server_options.access_log = config.access_log;
  server_options.limits = config.limits;
  server_options.header_timeout = config.header_timeout;
  if (config.neighbor_check) server_options.neighbors = &neighbors;
  Server server(config.listen, store, handler, log, server_options);
  for (const auto& b : server.bound()) out << "listening on " << b.to_string() << "\n";
  out << std::flush;
  const auto count = store.all().size();
  log("serving " + std::to_string(count) + " instance(s) from " + records_from);
  notify_ready(count);
  server.run(config.threads, true);
  return 0;
}

}  // namespace cloudtwin::metadata
