#include "cloudtwin/metadata/cli.hpp"

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/version.hpp"
#include "cloudtwin/metadata/libnl_neighbor_table.hpp"
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
    "  --instances DIR           instance records, one JSON file per VM\n"
    "                            (default /var/lib/cloudtwin/instances)\n"
    "  --identity-key FILE       host key signing identity documents (generated with\n"
    "  --identity-cert FILE      a self-signed certificate when both are missing)\n"
    "  --config FILE             INI settings (default /etc/cloudtwin/metadata.conf if present)\n"
    "  --access-log              log method, path, status and source of each request\n"
    "  --help, --version\n";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::Io, path + ": cannot be read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
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
  if (o.instances_dir) c.instances_dir = *o.instances_dir;
  if (o.identity_key) c.identity_key = *o.identity_key;
  if (o.identity_cert) c.identity_cert = *o.identity_cert;
  if (o.access_log) c.access_log = true;
  return c;
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
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
  const auto signer =
      OpenSslIdentitySigner::load_or_create(config.identity_key, config.identity_cert);
  DirectoryInstanceStore store(config.instances_dir, signer.get(), log,
                               DirectoryInstanceStore::kNoRescanFromFind, config.record_defaults);
  store.reload();
  OsRandom random;
  TokenService tokens(random);
  const Handler handler(tokens, config.token_ttl_max);
  LibnlNeighborTable neighbors;
  ServerOptions server_options;
  server_options.access_log = config.access_log;
  server_options.limits = config.limits;
  if (config.neighbor_check) server_options.neighbors = &neighbors;
  Server server(config.listen, store, handler, log, server_options);
  for (const auto& b : server.bound()) out << "listening on " << b.to_string() << "\n";
  out << std::flush;
  log("serving " + std::to_string(store.size()) + " instance(s) from " + config.instances_dir);
  // Records are rescanned here, once a second, never on a request's path.
  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::thread reloader([&] {
    std::unique_lock lock(stop_mutex);
    while (!stop_cv.wait_for(lock, std::chrono::seconds(1), [&] { return stopping; })) {
      lock.unlock();
      store.reload();
      lock.lock();
    }
  });
  server.run(config.threads, true);
  {
    const std::lock_guard lock(stop_mutex);
    stopping = true;
  }
  stop_cv.notify_one();
  reloader.join();
  return 0;
}

}  // namespace cloudtwin::metadata
