#include "cloudtwin/metadata/cli.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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
#include "cloudtwin/vpn/files.hpp"

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
    "  --state-dir DIR           keeps ctl notices across restarts (default\n"
    "                            /var/lib/cloudtwin/metadata)\n"
    "  --log-file FILE           log there instead of stderr; reopened on SIGHUP\n"
    "  --identity-key FILE       host key signing identity documents (generated with\n"
    "  --identity-cert FILE      a self-signed certificate when both are missing)\n"
    "  --config FILE             INI settings (default /etc/cloudtwin/metadata.conf if present)\n"
    "  --access-log              log method, path, status and source of each request\n"
    "  --help, --version\n"
    "SIGHUP re-reads the records and the config file and reopens the log file; tokens\n"
    "and connections are kept. TERM and INT stop it; other signals are logged, ignored.\n"
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
    else if (a == "--state-dir")
      o.state_dir = value();
    else if (a == "--log-file")
      o.log_file = value();
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
  if (o.state_dir) c.state_dir = *o.state_dir;
  if (o.log_file) c.log_file = *o.log_file;
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

// Log lines to stderr, or appended to a file reopened on demand (SIGHUP after
// logrotate moved it). One write(2) per line: lines of several threads never interleave.
class LogFile {
 public:
  explicit LogFile(std::ostream& err) : err_(err) {}
  ~LogFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  // Opens `path` ("" = stderr) in place of the file in use; throws Error(Io) when it
  // cannot, keeping the old one.
  void open(const std::string& path) {
    int fd = -1;
    if (!path.empty()) {
      fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
      if (fd < 0)
        throw Error(ErrorCode::Io, "cannot open log file " + path + ": " + std::strerror(errno));
    }
    const std::lock_guard lock(mutex_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
    path_ = path;
  }
  void reopen() { open(path_); }
  void write(const std::string& line) {
    const auto text = "cloudtwin-metadata: " + line + "\n";
    const std::lock_guard lock(mutex_);
    if (fd_ < 0) {
      err_ << text << std::flush;
      return;
    }
    if (::write(fd_, text.data(), text.size()) < 0) { /* nowhere left to report it */
    }
  }

 private:
  std::ostream& err_;
  std::mutex mutex_;
  int fd_ = -1;
  std::string path_;
};

// The notices of `ctl`, kept in DIR/notices.json (0600, replaced atomically).
std::string notices_file(const Config& c) { return c.state_dir + "/notices.json"; }

void restore_notices(NoticeBoard& board, const Config& c, const LogSink& log) {
  const auto path = notices_file(c);
  try {
    if (const auto text = vpn::read_file_if_exists(path)) {
      board.restore(*text, path);
      log("restored ctl notices from " + path);
    }
  } catch (const Error& e) {
    log(std::string(e.what()) +
        "; starting with no notices (the file is replaced at the next "
        "ctl command)");
  }
}

// Connection caps left out of the config follow the soft descriptor limit.
LimitOptions limits_for_this_process(const LimitOptions& configured) {
  rlimit lim{};
  const std::size_t fds = ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY
                              ? static_cast<std::size_t>(lim.rlim_cur)
                              : 1024;
  return connections_for_fd_limit(configured, fds);
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

  LogFile log_file(err);
  log_file.open(config.log_file);
  const LogSink log = [&log_file](const std::string& line) { log_file.write(line); };
  for (const auto& w : warnings) log(w);
  const auto signer = OpenSslIdentitySigner::load_or_create(
      config.identity_key, config.identity_cert, config.identity_rsa2048_key,
      config.identity_rsa2048_cert);
  const HostIdentity host(
      signer.get(),
      config.account_id.empty() ? derive_account_id(host_machine_id()) : config.account_id,
      [] { return std::chrono::system_clock::now(); });
  std::unique_ptr<InstanceStore> records;
  std::function<void()> reload_records;
  std::string records_from;
  if (!config.instances_dir.empty()) {
    auto dir = std::make_unique<DirectoryInstanceStore>(config.instances_dir, &host, log,
                                                        DirectoryInstanceStore::kNoRescanFromFind,
                                                        config.record_defaults);
    dir->reload();
    dir->watch();  // rescans on inotify events, never on a request's path
    reload_records = [store = dir.get()] { store->reload(); };
    records = std::move(dir);
    records_from = config.instances_dir;
  } else {
    auto libvirt = std::make_unique<LibvirtInstanceStore>(config.libvirt_uri, &host, log,
                                                          config.record_defaults);
    reload_records = [store = libvirt.get()] { store->reload(); };
    records = std::move(libvirt);
    records_from = "libvirt " + config.libvirt_uri;
  }
  vpn::make_dir(config.state_dir, 0700);
  NoticeBoard board([path = notices_file(config)](const std::string& json) {
    vpn::write_file_atomic(path, json, 0600);
  });
  restore_notices(board, config, log);
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
  TokenService tokens(random, config.tokens_per_vm);
  IdentityCredentials credentials(random, [] { return std::chrono::system_clock::now(); });
  const Handler handler(tokens, config.token_ttl_max, &credentials);
  LibnlNeighborTable neighbors;
  ServerOptions server_options;
  server_options.access_log = config.access_log;
  server_options.limits = limits_for_this_process(config.limits);
  server_options.header_timeout = config.header_timeout;
  if (config.neighbor_check) server_options.neighbors = &neighbors;
  Server server(config.listen, store, handler, log, server_options);
  // SIGHUP (logrotate, `systemctl reload`): reopen the log, re-read the config and the
  // records. Tokens, connections and notices stay.
  server.catch_signals([&] {
    std::string note;
    try {
      std::optional<std::string> next_text;
      if (options.config_file || std::filesystem::exists(source)) next_text = read_file(source);
      std::vector<std::string> next_warnings;
      const auto next = effective_config(options, next_text, source, next_warnings);
      if (next.log_file != config.log_file)
        log_file.open(next.log_file);
      else
        log_file.reopen();
      for (const auto& w : next_warnings) log(w);
      server.set_access_log(next.access_log);
      for (const auto& key : needs_restart(config, next)) note += " " + key;
      if (!note.empty()) note = "; changed, applied at the next restart:" + note;
    } catch (const Error& e) {
      note = "; configuration kept as it was: " + std::string(e.what());
    }
    reload_records();
    log("SIGHUP: reloaded " + records_from + " (" + std::to_string(store.all().size()) +
        " instance(s)) and " + source + note);
  });
  for (const auto& b : server.bound()) out << "listening on " << b.to_string() << "\n";
  out << std::flush;
  const auto count = store.all().size();
  log("serving " + std::to_string(count) + " instance(s) from " + records_from);
  notify_ready(count);
  server.run(config.threads, true);
  return 0;
}

}  // namespace cloudtwin::metadata
