// `cloudtwin vm start|stop|reboot|console NAME`.
#include <ostream>

#include "cli_args.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/console.hpp"
#include "cloudtwin/host/instance_record.hpp"

namespace cloudtwin::host {

int run_vm_power(const std::string& verb, const Args& a, CliContext& ctx) {
  const auto name = need_one(a, "VM NAME");
  if (a.flags.count("--force") != 0 && verb != "stop" && verb != "console")
    throw UsageError{"--force applies to vm stop and vm console only"};
  const bool force = a.flags.count("--force") != 0;
  auto hv = ctx.env.connect(ctx.uri);
  auto iso = ctx.env.iso_writer();
  auto storage = ctx.env.storage();
  auto random = ctx.env.random();
  VmService vms(*hv, *iso, *storage, *random, ctx.config.settings);
  if (verb == "console") {
    if (a.json()) throw UsageError{"vm console has no --json"};
    auto console = vms.console(name, force);
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
    done = vms.start(name) ? "started" : "already running";
  } else if (verb == "stop") {
    done = !vms.stop(name, force) ? "already shut off" : force ? "stopped" : "asked to shut down";
  } else {
    vms.reboot(name);
    done = "asked to reboot";
  }
  if (a.json()) {
    const auto v = vms.show(name);
    ctx.out << "{\"name\":" << json_quote(name) << ",\"result\":" << json_quote(done)
            << ",\"state\":" << json_quote(v.active ? "running" : "shut off") << "}\n";
  } else {
    ctx.out << "VM " << name << " " << done << "\n";
  }
  return 0;
}

}  // namespace cloudtwin::host
