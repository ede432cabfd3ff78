#include "cloudtwin/host/cli.hpp"

#include <ostream>

#include "cli_args.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/version.hpp"
#include "cloudtwin/vpn/cli.hpp"

namespace cloudtwin::host {

namespace {
constexpr const char* kUsage =
    "usage: cloudtwin [--help] [--version] [--connect URI] [--config FILE] COMMAND ...\n"
    "       cloudtwin net create NAME --cidr A.B.C.D/N [--gateway IP] [--dns IP,...]\n"
    "                            [--mode nat|isolated|bridge:BR] [--mac-prefix XX:XX] [--json]\n"
    "       cloudtwin net list|show NAME|delete NAME [--json]\n"
    "       cloudtwin net repair NAME   (start it, put back lost bridge addresses)\n"
    "       cloudtwin vm create TEMPLATE [--name NAME] [--ssh-key FILE] [--on HOST] [--json]\n"
    "       cloudtwin vm list|show NAME|delete NAME [--json]\n"
    "       cloudtwin vm start|reboot NAME [--json]\n"
    "       cloudtwin vm stop NAME [--force] [--json]   (ACPI shutdown; --force pulls the plug)\n"
    "       cloudtwin vm console NAME [--force]         (raw serial console; Ctrl-] leaves)\n"
    "       cloudtwin image register FILE [--name NAME] [--format raw|qcow2|vmdk|vdi|vhd] "
    "[--json]\n"
    "       cloudtwin image list|show NAME|delete NAME [--json]\n"
    "       cloudtwin image import NAME PATH|http(s)://URL|s3://BUCKET/KEY [--sha256 HEX]\n"
    "                    [--ca-file PEM] [--endpoint URL] [--region R] [--profile P] [--json]\n"
    "       cloudtwin vpn ...   overlay network (see cloudtwin vpn --help)\n"
    "       cloudtwin cloud add ec2 --region R [--endpoint URL] [--profile NAME]\n"
    "       cloudtwin cloud list [--json]   (each host: capacity used/allowed)\n"
    "       cloudtwin host add NAME URI | list [--json] | disable|enable|remove NAME\n"
    "       cloudtwin inventory rebuild [NAME=URI ...]   (leases from the hosts' VMs)\n"
    "\n"
    "cloudtwin: host CLI: networks, images and VMs on libvirt, bursting to EC2.\n"
    "vm create places a VM on the local host while host.conf [capacity] allows, then on EC2\n"
    "within [ec2] max_instances (TYPE:COUNT, ...); --on HOST or the template's\n"
    "REQUIREMENTS = 'NAME = \"HOST\"' pins it. EC2 credentials: AWS_* variables,\n"
    "~/.aws profiles (--profile), or /etc/cloudtwin/ec2.conf (0600).\n"
    "TEMPLATE is OpenNebula template syntax, or YAML when it ends in .yaml/.yml.\n"
    "Images are the qcow2 files in [storage] images; DISK = [ IMAGE = NAME ] uses one.\n"
    "--connect defaults to [libvirt] uri in /etc/cloudtwin/host.conf, else qemu:///system.\n"
    "--mode nat (default) and isolated make a bridge with DHCP reservations; bridge:BR puts\n"
    "VMs on the existing host bridge BR (e.g. the LAN's br0): no DHCP there, VMs take their\n"
    "address from the context CD or their MAC; --gateway and --dns are then the LAN's.\n"
    "cloudtwin adds 169.254.169.254/32 and fd00:ec2::254/128 to BR (netlink) if missing.\n"
    "--mac-prefix: the first two bytes of the MACs of VMs on the network (the other four are\n"
    "the IPv4 address); the first byte must be locally administered unicast (02, 0a, 52, fe,\n"
    "...). Kept with the network; default: [network] mac_prefix in host.conf.\n";

int usage_error(std::ostream& err, const std::string& message) {
  err << "cloudtwin: " << message << "\n" << kUsage;
  return 2;
}
}  // namespace

Args parse_args(const std::vector<std::string>& args, std::size_t from,
                const std::set<std::string>& valued, const std::set<std::string>& flags) {
  Args a;
  for (auto i = from; i < args.size(); ++i) {
    const auto& s = args[i];
    if (s.rfind("--", 0) != 0 || s == "--") {
      a.positional.push_back(s);
    } else if (valued.count(s) != 0) {
      if (i + 1 >= args.size()) throw UsageError{"option " + s + " needs a value"};
      a.options[s] = args[++i];
    } else if (flags.count(s) != 0) {
      a.flags.insert(s);
    } else {
      throw UsageError{"unknown option '" + s + "'"};
    }
  }
  return a;
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return run_cli(args, out, err, default_cli_env());
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            const CliEnv& env) {
  std::size_t i = 0;
  std::string uri;
  std::string config_path = env.config_path;
  for (; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--help" || a == "-h") {
      out << kUsage;
      return 0;
    }
    if (a == "--version") {
      out << "cloudtwin " << kVersion << "\n";
      return 0;
    }
    if (a == "--connect" || a == "--config") {
      if (i + 1 >= args.size()) return usage_error(err, "option " + a + " needs a value");
      (a == "--connect" ? uri : config_path) = args[++i];
      continue;
    }
    break;
  }
  if (i >= args.size()) {
    out << kUsage;
    return 0;
  }
  const auto& command = args[i];
  if (command == "vpn") {
    return vpn::run_cli(
        std::vector<std::string>(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end()),
        out, err);
  }
  if (command != "net" && command != "vm" && command != "image" && command != "cloud" &&
      command != "host" && command != "inventory") {
    return usage_error(err, "unknown command or option '" + command + "'");
  }
  if (i + 1 >= args.size()) return usage_error(err, command + " needs a subcommand");
  const auto verb = args[i + 1];
  try {
    if (command == "image" && verb == "import")
      return run_image_import(args, i + 2, env, config_path, out, err);
    const auto args_parsed =
        parse_args(args, i + 2,
                   {"--name", "--cidr", "--gateway", "--dns", "--mode", "--mac-prefix", "--ssh-key",
                    "--format", "--on", "--region", "--endpoint", "--profile"},
                   {"--json", "--force"});
    CliContext ctx{env, HostConfig{}, uri, out, err};
    if (const auto text = env.read_file(config_path))
      ctx.config = parse_host_conf(*text, config_path);
    if (ctx.uri.empty()) ctx.uri = ctx.config.uri;
    if (command == "net") return run_net(verb, args_parsed, ctx);
    if (command == "image") return run_image(verb, args_parsed, ctx);
    if (command == "cloud") return run_cloud(verb, args_parsed, ctx, config_path);
    if (command == "host") return run_host(verb, args_parsed, ctx);
    if (command == "inventory") return run_inventory(verb, args_parsed, ctx);
    if (verb == "start" || verb == "stop" || verb == "reboot" || verb == "console")
      return run_vm_power(verb, args_parsed, ctx);
    return run_vm(verb, args_parsed, ctx);
  } catch (const UsageError& e) {
    return usage_error(err, e.message);
  } catch (const Error& e) {
    err << "cloudtwin: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace cloudtwin::host
