#include "hosts.hpp"

#include "cloudtwin/core/error.hpp"
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

}  // namespace

const std::vector<HostKind>& host_kinds() {
  static const std::vector<HostKind> kinds = {
      {"libvirt", "libvirt", true, open_libvirt},
  };
  return kinds;
}

Hosts::Hosts(const CliContext& ctx) {
  for (const auto& k : host_kinds()) {
    if (k.always || ctx.config.sections.count(std::string(k.section)) != 0)
      hosts_.push_back(k.open(ctx));
  }
}

Host& Hosts::for_create() { return *hosts_.front(); }

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
