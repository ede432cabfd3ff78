#include "cloudtwin/host/libvirt_host.hpp"

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::host {

Capacity libvirt_capacity(const std::string& host, const std::vector<DomainInfo>& domains,
                          const CapacityCaps& caps, const std::function<NodeInfo()>& node) {
  Capacity c;
  c.host = host;
  for (const auto& d : domains) {
    if (!d.record_element) continue;  // not cloudtwin's: outside what it may use
    c.vcpu_used += d.vcpu;
    c.memory_mib_used += d.memory_mib;
  }
  c.vcpu_allowed = caps.vcpu;
  c.memory_mib_allowed = caps.memory_mib;
  if (caps.vcpu == 0 || caps.memory_mib == 0) {
    const auto n = node();
    if (caps.vcpu == 0) c.vcpu_allowed = n.cpus;
    if (caps.memory_mib == 0) c.memory_mib_allowed = n.memory_mib;
  }
  return c;
}

LibvirtHost::LibvirtHost(std::string name, LibvirtAdapters adapters, HostSettings settings,
                         CapacityCaps caps)
    : name_(std::move(name)),
      a_(std::move(adapters)),
      caps_(caps),
      vms_(*a_.hypervisor, *a_.iso, *a_.storage, *a_.random, std::move(settings), a_.vpn.get()) {}

VmSummary LibvirtHost::create(const VmTemplate& tmpl, const CreateOptions& options) {
  auto plan = vms_.create(tmpl, options.name, options.user_ssh_key, options.placement);
  return {plan.name, VmState::Running, std::move(plan.record)};
}

Capacity LibvirtHost::capacity() {
  return libvirt_capacity(name_, a_.hypervisor->list_domains(), caps_,
                          [this] { return a_.hypervisor->node_info(); });
}

}  // namespace cloudtwin::host
