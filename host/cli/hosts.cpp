#include "hosts.hpp"

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/ec2_host.hpp"
#include "cloudtwin/host/libvirt_host.hpp"

namespace cloudtwin::host {
namespace {

std::unique_ptr<Host> open_libvirt(const CliContext& ctx) {
  auto settings = ctx.config.settings;
  settings.overlay_pool = use_overlay_pool(ctx.config.overlays, ctx.uri);
  settings.uri = ctx.uri;
  LibvirtAdapters a;
  a.hypervisor = ctx.env.connect(ctx.uri);
  a.iso = ctx.env.iso_writer();
  a.storage = settings.overlay_pool && ctx.env.pool_storage
                  ? ctx.env.pool_storage(ctx.uri, settings.instances_dir)
                  : ctx.env.storage();
  a.random = ctx.env.random();
  a.vpn = ctx.env.vpn ? ctx.env.vpn(settings.vpn_state_dir) : nullptr;
  return std::make_unique<LibvirtHost>("local", std::move(a), std::move(settings),
                                       ctx.config.capacity);
}

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

Hosts::Hosts(const CliContext& ctx) {
  for (const auto& k : host_kinds()) {
    if (k.always || ctx.config.sections.count(std::string(k.section)) != 0)
      hosts_.push_back(k.open(ctx));
  }
}

std::vector<PlacementCandidate> Hosts::candidates() {
  std::vector<PlacementCandidate> out;
  for (auto& h : hosts_) out.push_back({h->name(), h->kind(), h->capacity()});
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
  auto p = place(candidates(), r);
  return {hosts_.at(p.index).get(), std::move(p)};
}

Host& Hosts::holding(const std::string& vm) {
  if (hosts_.size() == 1) return *hosts_.front();  // its own errors name the VM
  for (auto& h : hosts_) {
    for (const auto& v : h->list()) {
      if (v.name == vm) return *h;
    }
  }
  throw Error(ErrorCode::NotFound, "no VM named '" + vm + "' (see cloudtwin vm list)");
}

std::vector<VmSummary> Hosts::list() {
  std::vector<VmSummary> out;
  for (auto& h : hosts_) {
    auto vms = h->list();
    out.insert(out.end(), std::make_move_iterator(vms.begin()), std::make_move_iterator(vms.end()));
  }
  return out;
}

}  // namespace cloudtwin::host
