#include "hosts.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <set>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/ec2_host.hpp"
#include "cloudtwin/host/libvirt_host.hpp"
#include "cloudtwin/host/network_xml.hpp"

namespace cloudtwin::host {
namespace {

std::unique_ptr<Host> open_libvirt_at(const CliContext& ctx, const std::string& name,
                                      const std::string& uri, CapacityCaps caps) {
  auto settings = ctx.config.settings;
  settings.overlay_pool = use_overlay_pool(ctx.config.overlays, uri);
  settings.uri = uri;
  LibvirtAdapters a;
  a.hypervisor = ctx.env.connect(uri);
  a.iso = ctx.env.iso_writer();
  a.storage = settings.overlay_pool && ctx.env.pool_storage
                  ? ctx.env.pool_storage(uri, settings.instances_dir)
                  : ctx.env.storage();
  a.random = ctx.env.random();
  a.vpn = ctx.env.vpn ? ctx.env.vpn(settings.vpn_state_dir) : nullptr;
  return std::make_unique<LibvirtHost>(name, std::move(a), std::move(settings), caps);
}

std::unique_ptr<Host> open_libvirt(const CliContext& ctx) {
  return open_libvirt_at(ctx, "local", ctx.uri, ctx.config.capacity);
}

// A host that did not answer when opened: every operation says so, naming it.
class UnreachableHost final : public Host {
 public:
  UnreachableHost(std::string name, std::string uri, std::string error)
      : name_(std::move(name)), uri_(std::move(uri)), error_(std::move(error)) {}
  std::string name() const override { return name_; }
  std::string kind() const override { return "libvirt"; }
  VmSummary create(const VmTemplate&, const CreateOptions&) override { fail(); }
  bool start(const std::string&) override { fail(); }
  bool stop(const std::string&, bool) override { fail(); }
  void reboot(const std::string&) override { fail(); }
  std::vector<std::string> remove(const std::string&) override { fail(); }
  VmState state(const std::string&) override { fail(); }
  VmSummary show(const std::string&) override { fail(); }
  std::vector<VmSummary> list() override { fail(); }
  Capacity capacity() override { fail(); }

 private:
  [[noreturn]] void fail() const {
    throw Error(ErrorCode::Io, "host " + name_ + " (" + uri_ + ") does not answer: " + error_);
  }
  std::string name_, uri_, error_;
};

std::unique_ptr<Host> open_ec2(const CliContext& ctx) {
  const auto& config = ctx.config.ec2;
  if (config.region.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                "host.conf [ec2] has no region; run `cloudtwin cloud add ec2 --region R`");
  }
  if (!ctx.env.ec2) throw Error(ErrorCode::InvalidArgument, "this cloudtwin has no EC2 client");
  Ec2Adapters a = ctx.env.ec2(config);
  a.records = ctx.env.ec2_records
                  ? ctx.env.ec2_records(ctx.config.settings.instances_dir + "/ec2")
                  : make_ec2_record_files(ctx.config.settings.instances_dir + "/ec2");
  a.random = ctx.env.random();
  a.vpn = ctx.env.vpn ? ctx.env.vpn(ctx.config.settings.vpn_state_dir) : nullptr;
  return std::make_unique<Ec2Host>("ec2", config, std::move(a));
}

}  // namespace

const std::vector<HostKind>& host_kinds() {
  static const std::vector<HostKind> kinds = {
      {"libvirt", "libvirt", true, open_libvirt},
      {"ec2", "ec2", false, open_ec2},
  };
  return kinds;
}

Hosts::Hosts(const CliContext& ctx) : ctx_(ctx) {
  inventory_ = open_inventory_if_there(ctx);
  if (inventory_) inventory_hosts_ = inventory_->hosts();
  for (const auto& k : host_kinds()) {
    if (!k.always && ctx.config.sections.count(std::string(k.section)) == 0) continue;
    try {
      hosts_.push_back(k.open(ctx));
    } catch (const Error& e) {
      // With other hypervisors to use, a control node without libvirtd of its own is fine.
      if (inventory_hosts_.empty() || k.kind != "libvirt") throw;
      hosts_.push_back(std::make_unique<UnreachableHost>("local", ctx.uri, e.what()));
      unreachable_.emplace_back("local");
    }
  }
  // The inventory's hypervisors, each connected in its own thread, after the libvirt host.
  std::vector<std::future<std::unique_ptr<Host>>> opening;
  for (const auto& h : inventory_hosts_) {
    opening.push_back(std::async(std::launch::async, [&ctx, h]() -> std::unique_ptr<Host> {
      try {
        return open_libvirt_at(ctx, h.name, h.uri, {});
      } catch (const std::exception& e) {
        return std::make_unique<UnreachableHost>(h.name, h.uri, e.what());
      }
    }));
  }
  auto at = std::find_if(hosts_.begin(), hosts_.end(),
                         [](const auto& h) { return h->kind() != "libvirt"; });
  for (auto& f : opening) {
    auto h = f.get();
    if (dynamic_cast<UnreachableHost*>(h.get()) != nullptr) unreachable_.push_back(h->name());
    at = std::next(hosts_.insert(at, std::move(h)));
  }
}

Hosts::~Hosts() = default;

namespace {
template <typename T>
bool contains(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}
}  // namespace

std::vector<PlacementCandidate> Hosts::candidates() {
  std::vector<PlacementCandidate> out;
  for (auto& h : hosts_) {
    if (contains(unreachable_, h->name())) continue;
    out.push_back({h->name(), h->kind(), h->capacity()});
  }
  return out;
}

std::pair<Host*, Placement> Hosts::for_create(const VmTemplate& tmpl, const std::string& vm,
                                              const std::string& on) {
  PlacementRequest r;
  r.vm = vm.empty() ? (tmpl.name.empty() ? std::string("(unnamed)") : tmpl.name) : vm;
  r.vcpu = tmpl.vcpu;
  r.memory_mib = tmpl.memory_mib;
  r.ec2_ready = tmpl.ec2 && !tmpl.ec2->ami.empty();
  for (auto& h : hosts_) {
    if (auto* e = dynamic_cast<Ec2Host*>(h.get())) r.instance_type = e->instance_type_of(tmpl);
  }
  r.pinned = !on.empty() ? on : tmpl.requirements_host;
  r.pinned_by = !on.empty() ? "--on" : "REQUIREMENTS";
  if (hosts_.size() == 1 && r.pinned.empty()) {  // nothing to choose: no figures needed
    return {hosts_.front().get(), {0, "the only host"}};
  }
  // Hosts that may take new VMs: answering, not disabled; a pin names one of them.
  std::vector<std::size_t> index;
  std::vector<PlacementCandidate> cands;
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    auto& h = *hosts_[i];
    const auto inv = std::find_if(inventory_hosts_.begin(), inventory_hosts_.end(),
                                  [&](const auto& x) { return x.name == h.name(); });
    const bool disabled = inv != inventory_hosts_.end() && !inv->enabled;
    const bool down = contains(unreachable_, h.name());
    if (!r.pinned.empty() && r.pinned == h.name() && (disabled || down)) {
      throw Error(ErrorCode::InvalidArgument,
                  "VM '" + r.vm + "' is pinned to " + h.name() + " by " + r.pinned_by + ", which " +
                      (down ? "does not answer (cloudtwin host list)"
                            : "is disabled (cloudtwin host enable " + h.name() + ")"));
    }
    if (disabled || down) continue;
    index.push_back(i);
    cands.push_back({h.name(), h.kind(), h.capacity()});
  }
  if (cands.empty()) {
    std::string why;
    for (const auto& h : hosts_) {
      why += (why.empty() ? "" : ", ") + h->name() +
             (contains(unreachable_, h->name()) ? " does not answer" : " is disabled");
    }
    throw Error(ErrorCode::InvalidArgument, "no host takes new VMs (" + why +
                                                "); cloudtwin host list shows them, cloudtwin "
                                                "host enable NAME takes a host back");
  }
  // libvirt hosts first, the one with the most free memory first; EC2 after them.
  std::vector<std::size_t> order(cands.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  const auto free_mib = [&](std::size_t i) -> std::int64_t {
    const auto& c = cands[i].capacity;
    return static_cast<std::int64_t>(c.memory_mib_allowed) -
           static_cast<std::int64_t>(c.memory_mib_used);
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const bool la = cands[a].kind == "libvirt", lb = cands[b].kind == "libvirt";
    if (la != lb) return la;
    return la && free_mib(a) > free_mib(b);
  });
  std::vector<PlacementCandidate> sorted;
  for (const auto i : order) sorted.push_back(cands[i]);
  auto p = place(sorted, r);
  const auto chosen = index.at(order.at(p.index));
  p.index = chosen;
  return {hosts_.at(chosen).get(), std::move(p)};
}

namespace {
// A network a VM on an inventory host uses goes into the inventory as that host defines it.
void ensure_network(Inventory& inventory, const CliContext& ctx, const std::string& network,
                    const InventoryHost& host) {
  for (const auto& n : inventory.networks()) {
    if (n.name == network) return;
  }
  for (const auto& n : ctx.env.connect(host.uri)->list_networks()) {
    if (n.name != network) continue;
    const auto spec = parse_network_xml(n.xml);
    inventory.put_network({spec.name, spec.cidr, spec.gateway,
                           spec.mac_prefix.value_or(ctx.config.settings.mac_prefix)});
    return;
  }
  throw Error(ErrorCode::NotFound, "network '" + network + "' does not exist on host " + host.name +
                                       " (cloudtwin --connect " + host.uri + " net create " +
                                       network + " ...)");
}
}  // namespace

VmSummary Hosts::create(Host& host, VmTemplate tmpl, const CreateOptions& options) {
  const auto inv = std::find_if(inventory_hosts_.begin(), inventory_hosts_.end(),
                                [&](const auto& x) { return x.name == host.name(); });
  if (!inventory_ || inv == inventory_hosts_.end()) return host.create(tmpl, options);
  // Leased under a name of its own until the VM's name is known (the instance id, maybe).
  static int counter = 0;
  const auto pending =
      "(creating " + std::to_string(::getpid()) + "." + std::to_string(++counter) + ")";
  try {
    for (auto& nic : tmpl.nics) {
      ensure_network(*inventory_, ctx_, nic.network, *inv);
      nic.ip = inventory_->allocate_lease(nic.network, pending, host.name(), nic.ip).ip;
    }
    auto vm = host.create(tmpl, options);
    inventory_->rename_leases(pending, vm.name);
    return vm;
  } catch (...) {
    try {
      inventory_->release_leases(pending);
    } catch (const Error&) {  // the create's own error is the one to report
    }
    throw;
  }
}

std::vector<std::string> Hosts::remove(const std::string& vm) {
  auto warnings = holding(vm).remove(vm);
  if (inventory_) inventory_->release_leases(vm);
  return warnings;
}

Host& Hosts::holding(const std::string& vm) {
  if (hosts_.size() == 1) return *hosts_.front();  // its own errors name the VM
  for (auto& h : hosts_) {
    if (contains(unreachable_, h->name())) continue;
    for (const auto& v : h->list()) {
      if (v.name == vm) return *h;
    }
  }
  if (inventory_) {  // leased on a host that does not answer: say that, not "no such VM"
    for (const auto& l : inventory_->leases()) {
      if (l.vm != vm) continue;
      for (auto& h : hosts_) {
        if (h->name() == l.host) return *h;
      }
    }
  }
  throw Error(ErrorCode::NotFound, "no VM named '" + vm + "' (see cloudtwin vm list)");
}

std::vector<VmSummary> Hosts::list() {
  std::vector<std::future<std::vector<VmSummary>>> asked;
  for (auto& h : hosts_) {
    if (contains(unreachable_, h->name())) {
      asked.emplace_back();
      continue;
    }
    asked.push_back(std::async(std::launch::async, [&h] { return h->list(); }));
  }
  std::vector<Lease> leases;
  if (inventory_ && !unreachable_.empty()) leases = inventory_->leases();
  std::vector<VmSummary> out;
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    const auto& name = hosts_[i]->name();
    const bool inventory_host = std::any_of(inventory_hosts_.begin(), inventory_hosts_.end(),
                                            [&](const auto& x) { return x.name == name; });
    if (!asked[i].valid()) {  // the VMs the inventory has leases for, state unknown
      std::set<std::string> seen;
      for (const auto& l : leases) {
        if (l.host != name || !seen.insert(l.vm).second) continue;
        out.push_back({l.vm, VmState::Unknown, std::nullopt});
        host_of_[l.vm] = name;
      }
      continue;
    }
    for (auto& v : asked[i].get()) {
      if (inventory_host) host_of_[v.name] = name;
      out.push_back(std::move(v));
    }
  }
  return out;
}

std::string Hosts::host_of(const std::string& vm) const {
  const auto it = host_of_.find(vm);
  return it == host_of_.end() ? std::string() : it->second;
}

std::unique_ptr<Inventory> open_inventory(const CliContext& ctx) {
  if (ctx.env.inventory) return ctx.env.inventory(ctx.config.inventory);
  return make_sqlite_inventory(ctx.config.inventory);
}

std::unique_ptr<Inventory> open_inventory_if_there(const CliContext& ctx) {
  std::error_code ec;
  if (!std::filesystem::exists(ctx.config.inventory, ec)) return nullptr;
  return open_inventory(ctx);
}

namespace {

HostProbe probe_one(const CliContext& ctx, const InventoryHost& h) {
  HostProbe p;
  p.host = h;
  try {
    auto hv = ctx.env.connect(h.uri);
    const auto domains = hv->list_domains();
    p.node = hv->node_info();
    p.capacity = libvirt_capacity(h.name, domains, {}, [&] { return p.node; });
    p.summaries = summaries_of(domains);
    p.vms =
        static_cast<std::size_t>(std::count_if(p.summaries.begin(), p.summaries.end(),
                                               [](const auto& v) { return v.record.has_value(); }));
    p.networks = hv->list_networks();
    p.reachable = true;
  } catch (const std::exception& e) {  // a host that does not answer is shown, not fatal
    p.error = e.what();
  }
  return p;
}

}  // namespace

std::vector<HostProbe> probe_hosts(const CliContext& ctx, const std::vector<InventoryHost>& hosts) {
  std::vector<std::future<HostProbe>> running;
  running.reserve(hosts.size());
  for (const auto& h : hosts)
    running.push_back(std::async(std::launch::async, [&ctx, h] { return probe_one(ctx, h); }));
  std::vector<HostProbe> out;
  out.reserve(hosts.size());
  for (auto& f : running) out.push_back(f.get());
  return out;
}

RebuildResult rebuild_inventory(const CliContext& ctx, Inventory& inventory) {
  const auto hosts = inventory.hosts();
  const auto probes = probe_hosts(ctx, hosts);
  std::vector<InventoryNetwork> networks;
  for (const auto& p : probes) {
    if (!p.reachable) {
      throw Error(ErrorCode::Io, "host " + p.host.name + " (" + p.host.uri +
                                     ") does not answer, so its VMs' leases cannot be read: " +
                                     p.error + "; inventory left unchanged");
    }
    for (const auto& n : p.networks) {
      NetworkSpec spec;
      try {
        spec = parse_network_xml(n.xml);
      } catch (const Error&) {
        continue;  // not one of cloudtwin's networks
      }
      const InventoryNetwork net{spec.name, spec.cidr, spec.gateway,
                                 spec.mac_prefix.value_or(ctx.config.settings.mac_prefix)};
      const auto same = std::find_if(networks.begin(), networks.end(),
                                     [&](const auto& x) { return x.name == net.name; });
      if (same == networks.end()) {
        networks.push_back(net);
      } else if (!(*same == net)) {
        throw Error(ErrorCode::InvalidArgument,
                    "network '" + net.name + "' differs between hosts (" + same->cidr.to_string() +
                        " vs " + net.cidr.to_string() + " on " + p.host.name +
                        "); inventory left unchanged");
      }
    }
  }
  std::sort(networks.begin(), networks.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::vector<Lease> leases;
  for (const auto& p : probes) {
    auto l = leases_from_domains(p.host.name, p.summaries, networks);
    leases.insert(leases.end(), l.begin(), l.end());
  }
  std::sort(leases.begin(), leases.end());
  inventory.replace(networks, leases);
  return {hosts.size(), networks.size(), leases.size()};
}

}  // namespace cloudtwin::host
