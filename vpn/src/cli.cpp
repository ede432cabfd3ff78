#include "cloudtwin/vpn/cli.hpp"

#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <map>
#include <optional>
#include <ostream>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/version.hpp"
#include "cloudtwin/vpn/config_text.hpp"
#include "cloudtwin/vpn/service.hpp"

namespace cloudtwin::vpn {

namespace {

constexpr const char* kUsage =
    "usage: cloudtwin vpn COMMAND [OPTIONS]\n"
    "\n"
    "cloudtwin vpn: overlay network tooling: OpenVPN PKI, server and client profiles.\n"
    "\n"
    "commands:\n"
    "  init --network-cidr CIDR --gateway IP --bridge BR [--listen HOST[:PORT]]\n"
    "       [--pool START-END]   create the CA, server certificate and server.conf\n"
    "  issue VM_ID --ip IP       issue VM_ID's client profile with a fixed address\n"
    "  revoke VM_ID              revoke VM_ID's certificate and update the CRL\n"
    "  list [--json]             certificates: issued, revoked, connected\n"
    "\n"
    "every command takes --state-dir DIR (default /var/lib/cloudtwin/vpn) or\n"
    "--network NET, short for --state-dir /var/lib/cloudtwin/vpn/NET: the directory the\n"
    "cloudtwin-vpn@NET systemd unit runs the server from\n";

struct UsageError {
  std::string message;
};

struct Parsed {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
  bool json = false;
};

// Options: --name VALUE or --name=VALUE; --json is the only flag.
Parsed parse_args(const std::vector<std::string>& args, const std::vector<std::string>& known) {
  Parsed parsed;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg.rfind("--", 0) != 0) {
      parsed.positional.push_back(arg);
      continue;
    }
    if (arg == "--json") {
      parsed.json = true;
      continue;
    }
    const auto eq = arg.find('=');
    const auto name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      throw UsageError{"unknown option '--" + name + "' for " + args[0]};
    }
    if (eq != std::string::npos) {
      parsed.options[name] = arg.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      parsed.options[name] = args[++i];
    } else {
      throw UsageError{"option '--" + name + "' needs a value"};
    }
  }
  return parsed;
}

std::string required(const Parsed& p, const std::string& name) {
  const auto it = p.options.find(name);
  if (it == p.options.end()) throw UsageError{"missing --" + name};
  return it->second;
}

std::string state_dir(const Parsed& p) {
  const auto dir = p.options.find("state-dir");
  const auto net = p.options.find("network");
  if (net == p.options.end()) return dir == p.options.end() ? kDefaultStateDir : dir->second;
  if (dir != p.options.end()) throw UsageError{"give --network or --state-dir, not both"};
  // The name becomes a directory and a systemd instance name: the VM id rules fit both.
  if (!is_valid_vm_id(net->second)) {
    throw UsageError{"network name '" + net->second +
                     "' must be 1-64 of [A-Za-z0-9._-], not starting with . or -"};
  }
  return network_state_dir(net->second);
}

// What `init` tells the operator to run: the unit when the dir is the one it serves.
void print_start_hint(const Parsed& p, const std::string& dir, std::ostream& out) {
  if (const auto net = p.options.find("network"); net != p.options.end()) {
    out << "start the server: systemctl enable --now cloudtwin-vpn@" << net->second << "\n";
    return;
  }
  out << "start the server: openvpn --config " << dir << "/server.conf\n"
      << "(the cloudtwin-vpn@NET unit runs " << network_state_dir("NET")
      << "/server.conf: use `--network NET` instead of --state-dir to get that layout)\n";
}

std::string one_vm_id(const Parsed& p, const std::string& command) {
  if (p.positional.size() != 1) throw UsageError{command + " needs exactly one VM_ID"};
  return p.positional[0];
}

std::uint16_t parse_port(const std::string& text) {
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || value == 0 || value > 65535) {
    throw Error(ErrorCode::InvalidArgument, "port '" + text + "' is not 1-65535");
  }
  return static_cast<std::uint16_t>(value);
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

int cmd_init(const std::vector<std::string>& args, std::ostream& out) {
  const auto p = parse_args(
      args, {"state-dir", "network", "network-cidr", "gateway", "bridge", "listen", "pool"});
  if (!p.positional.empty()) throw UsageError{"init takes no positional arguments"};
  InitOptions o;
  o.state_dir = state_dir(p);
  o.network = core::Ipv4Cidr::parse(required(p, "network-cidr"));
  o.gateway = core::Ipv4::parse(required(p, "gateway"));
  o.bridge = required(p, "bridge");
  o.remote_host = host_name();
  if (const auto it = p.options.find("listen"); it != p.options.end()) {
    const auto colon = it->second.rfind(':');
    o.remote_host = it->second.substr(0, colon);
    if (colon != std::string::npos) o.port = parse_port(it->second.substr(colon + 1));
  }
  if (const auto it = p.options.find("pool"); it != p.options.end()) {
    const auto dash = it->second.find('-');
    if (dash == std::string::npos) throw UsageError{"--pool wants START-END"};
    o.pool = std::pair{core::Ipv4::parse(it->second.substr(0, dash)),
                       core::Ipv4::parse(it->second.substr(dash + 1))};
  }
  o.now = now();
  const auto outcome = init(o);
  out << (outcome == Outcome::Changed ? "initialised " : "already initialised ") << o.state_dir
      << "; server config " << o.state_dir << "/server.conf\n";
  print_start_hint(p, o.state_dir, out);
  return 0;
}

int cmd_issue(const std::vector<std::string>& args, std::ostream& out) {
  const auto p = parse_args(args, {"state-dir", "network", "ip"});
  const auto vm_id = one_vm_id(p, "issue");
  const auto result = issue(state_dir(p), vm_id, core::Ipv4::parse(required(p, "ip")), now());
  out << result.profile_path << "\n";
  return 0;
}

int cmd_revoke(const std::vector<std::string>& args, std::ostream& out) {
  const auto p = parse_args(args, {"state-dir", "network"});
  const auto vm_id = one_vm_id(p, "revoke");
  const auto result = revoke(state_dir(p), vm_id, now());
  out << (result.outcome == Outcome::Changed ? "revoked " : "already revoked ") << vm_id;
  if (result.session == KillOutcome::Killed) out << "; its open session was dropped";
  out << "\n";
  return 0;
}

int cmd_list(const std::vector<std::string>& args, std::ostream& out) {
  const auto p = parse_args(args, {"state-dir", "network"});
  if (!p.positional.empty()) throw UsageError{"list takes no positional arguments"};
  const auto entries = list(state_dir(p));
  if (p.json) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& e : entries) {
      nlohmann::ordered_json item = {
          {"vm-id", e.cert.vm_id},
          {"ip", e.cert.ip.to_string()},
          {"serial", e.cert.serial_hex},
          {"state", e.cert.state == CertState::Issued ? "issued" : "revoked"},
          {"connected", e.connection.has_value()}};
      if (e.connection) item["real-address"] = e.connection->real_address;
      list.push_back(std::move(item));
    }
    out << list.dump(2) << "\n";
    return 0;
  }
  for (const auto& e : entries) {
    out << e.cert.vm_id << " " << e.cert.ip.to_string() << " "
        << (e.cert.state == CertState::Issued ? "issued" : "revoked") << " "
        << (e.connection ? "connected from " + e.connection->real_address : "-") << "\n";
  }
  return 0;
}

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
  try {
    if (args[0] == "init") return cmd_init(args, out);
    if (args[0] == "issue") return cmd_issue(args, out);
    if (args[0] == "revoke") return cmd_revoke(args, out);
    if (args[0] == "list") return cmd_list(args, out);
  } catch (const UsageError& e) {
    err << "cloudtwin vpn: " << e.message << "\n" << kUsage;
    return 2;
  } catch (const Error& e) {
    err << "cloudtwin vpn: " << e.what() << "\n";
    return 1;
  }
  err << "cloudtwin vpn: unknown command or option '" << args[0] << "'\n" << kUsage;
  return 2;
}

}  // namespace cloudtwin::vpn
