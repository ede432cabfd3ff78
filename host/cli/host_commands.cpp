// `cloudtwin host add|list|disable|enable|remove` and `cloudtwin inventory rebuild`: the
// hypervisors of the inventory (host/include/cloudtwin/host/inventory.hpp).
#include <ostream>

#include "cli_args.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/inventory.hpp"
#include "cloudtwin/record/json.hpp"
#include "hosts.hpp"

namespace cloudtwin::host {
namespace {

std::string of(std::uint64_t used, std::uint64_t allowed, std::uint64_t total) {
  return std::to_string(used) + "/" + std::to_string(allowed) + "/" + std::to_string(total);
}

record::Json probe_json(const HostProbe& p) {
  record::Json out = {{"name", p.host.name},
                      {"uri", p.host.uri},
                      {"enabled", p.host.enabled},
                      {"reachable", p.reachable}};
  if (!p.reachable) {
    out["error"] = p.error;
    return out;
  }
  const auto& c = p.capacity;
  out["vcpu"] = {{"used", c.vcpu_used}, {"allowed", c.vcpu_allowed}, {"total", p.node.cpus}};
  out["memory-mib"] = {
      {"used", c.memory_mib_used}, {"allowed", c.memory_mib_allowed}, {"total", p.node.memory_mib}};
  out["vms"] = p.vms;
  return out;
}

int host_list(const Args& a, CliContext& ctx) {
  if (!a.positional.empty()) throw UsageError{"host list takes no arguments"};
  const auto probes = probe_hosts(ctx, open_inventory(ctx)->hosts());
  if (a.json()) {
    record::Json out = record::Json::array();
    for (const auto& p : probes) out.push_back(probe_json(p));
    ctx.out << record::dump(out) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "URI", "STATE", "VCPU used/allowed/total", "MEMORY MiB used/allowed/total", "VMS"}};
  for (const auto& p : probes) {
    const std::string state = p.host.enabled ? "enabled" : "disabled";
    if (!p.reachable) {
      rows.push_back({p.host.name, p.host.uri, state + ", unreachable", "-", "-", "-"});
      continue;
    }
    const auto& c = p.capacity;
    rows.push_back({p.host.name, p.host.uri, state, of(c.vcpu_used, c.vcpu_allowed, p.node.cpus),
                    of(c.memory_mib_used, c.memory_mib_allowed, p.node.memory_mib),
                    std::to_string(p.vms)});
  }
  print_table(ctx.out, rows);
  for (const auto& p : probes) {
    if (!p.reachable)
      ctx.err << "cloudtwin: warning: host " << p.host.name << ": " << p.error << "\n";
  }
  return 0;
}

int host_add(const Args& a, CliContext& ctx) {
  if (a.positional.size() != 2) throw UsageError{"host add needs NAME URI"};
  const InventoryHost h{a.positional[0], a.positional[1], true};
  check_host_name(h.name);
  check_host_uri(h.uri);
  auto inv = open_inventory(ctx);
  inv->add_host(h);
  ctx.out << "added host " << h.name << " (" << h.uri << ")\n";
  const auto probe = probe_hosts(ctx, {h}).front();
  if (!probe.reachable) {
    ctx.err << "cloudtwin: warning: host " << h.name << " is not reachable now: " << probe.error
            << "\n";
  }
  return 0;
}

int host_remove(const std::string& name, CliContext& ctx) {
  auto inv = open_inventory(ctx);
  for (const auto& h : inv->hosts()) {
    if (h.name != name) continue;
    const auto probe = probe_hosts(ctx, {h}).front();
    if (probe.reachable && probe.vms > 0) {
      throw Error(ErrorCode::InvalidArgument, "host '" + name + "' still runs " +
                                                  std::to_string(probe.vms) +
                                                  " cloudtwin VM(s); delete or migrate them first");
    }
  }
  inv->remove_host(name);  // NotFound, or refused while the inventory has leases there
  ctx.out << "removed host " << name << "\n";
  return 0;
}

// "NAME=URI" arguments of `inventory rebuild`: the hosts to (re)enter first.
std::vector<InventoryHost> hosts_of(const std::vector<std::string>& args) {
  std::vector<InventoryHost> out;
  for (const auto& s : args) {
    const auto eq = s.find('=');
    if (eq == std::string::npos)
      throw UsageError{"inventory rebuild takes NAME=URI, not '" + s + "'"};
    out.push_back({s.substr(0, eq), s.substr(eq + 1), true});
    check_host_name(out.back().name);
    check_host_uri(out.back().uri);
  }
  return out;
}

int inventory_rebuild(const Args& a, CliContext& ctx) {
  const auto given = hosts_of(a.positional);
  auto inv = open_inventory(ctx);
  const auto known = inv->hosts();
  for (const auto& h : given) {
    const bool there =
        std::any_of(known.begin(), known.end(), [&](const auto& k) { return k.name == h.name; });
    if (!there) inv->add_host(h);
  }
  const auto result = rebuild_inventory(ctx, *inv);
  ctx.out << "inventory rebuilt: " << result.hosts << " host(s), " << result.networks
          << " network(s), " << result.leases << " lease(s)\n";
  return 0;
}

}  // namespace

int run_host(const std::string& verb, const Args& a, CliContext& ctx) {
  if (verb == "add") return host_add(a, ctx);
  if (verb == "list") return host_list(a, ctx);
  if (verb == "remove") return host_remove(need_one(a, "host NAME"), ctx);
  if (verb == "disable" || verb == "enable") {
    const auto name = need_one(a, "host NAME");
    open_inventory(ctx)->set_enabled(name, verb == "enable");
    ctx.out << (verb == "enable" ? "enabled" : "disabled") << " host " << name
            << (verb == "enable" ? "" : ": no new VMs there") << "\n";
    return 0;
  }
  throw UsageError{"unknown host subcommand '" + verb + "'"};
}

int run_inventory(const std::string& verb, const Args& a, CliContext& ctx) {
  if (verb == "rebuild") return inventory_rebuild(a, ctx);
  throw UsageError{"unknown inventory subcommand '" + verb + "'"};
}

}  // namespace cloudtwin::host
