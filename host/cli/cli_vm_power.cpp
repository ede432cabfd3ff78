// `cloudtwin vm start|stop|reboot|console NAME`.
#include <ostream>

#include "cli_args.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/console.hpp"
#include "cloudtwin/host/libvirt_host.hpp"
#include "cloudtwin/record/json.hpp"
#include "hosts.hpp"

namespace cloudtwin::host {

int run_vm_power(const std::string& verb, const Args& a, CliContext& ctx) {
  const auto name = need_one(a, "VM NAME");
  if (a.flags.count("--force") != 0 && verb != "stop" && verb != "console")
    throw UsageError{"--force applies to vm stop and vm console only"};
  const bool force = a.flags.count("--force") != 0;
  Hosts hosts(ctx);
  auto& host = hosts.holding(name);
  if (verb == "console") {
    if (a.json()) throw UsageError{"vm console has no --json"};
    auto* local = dynamic_cast<LibvirtHost*>(&host);
    if (local == nullptr) {
      throw Error(ErrorCode::InvalidArgument, "VM '" + name + "' runs on host '" + host.name() +
                                                  "' (" + host.kind() +
                                                  "), which has no serial console to attach to");
    }
    auto console = local->console(name, force);
    auto terminal = ctx.env.terminal();
    // On stderr: stdout carries the guest's bytes untouched.
    ctx.err << "Connected to VM " << name << " (escape character is ^])\r\n" << std::flush;
    const auto end = run_console(*console, *terminal);
    ctx.err << (end == ConsoleEnd::ConsoleClosed ? "\r\nconsole of VM " + name + " closed\r\n"
                                                 : std::string("\r\n"));
    return 0;
  }
  std::string done;
  if (verb == "start") {
    done = host.start(name) ? "started" : "already running";
  } else if (verb == "stop") {
    done = !host.stop(name, force) ? "already shut off" : force ? "stopped" : "asked to shut down";
  } else {
    host.reboot(name);
    done = "asked to reboot";
  }
  if (a.json()) {
    ctx.out << record::dump(
                   {{"name", name}, {"result", done}, {"state", to_string(host.state(name))}})
            << "\n";
  } else {
    ctx.out << "VM " << name << " " << done << "\n";
  }
  return 0;
}

}  // namespace cloudtwin::host
