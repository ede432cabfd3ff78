#pragma once
// The Host over one libvirt connection ("local"): VmService's plan-then-apply lifecycle,
// plus the state and capacity figures the Host interface adds.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/host/host.hpp"
#include "cloudtwin/host/vm_service.hpp"

namespace cloudtwin::host {

// host.conf [capacity]: how much of this machine cloudtwin's VMs may use.
struct CapacityCaps {
  unsigned vcpu = 0;             // 0: the node's CPUs
  std::uint64_t memory_mib = 0;  // 0: the node's memory
  bool operator==(const CapacityCaps&) const = default;
};

// What cloudtwin's domains (those with a record, running or not: a stopped VM may be
// started at any time) use, against `caps`, or against the node's totals where no cap is
// set. `node` is read only when a cap is missing.
Capacity libvirt_capacity(const std::string& host, const std::vector<DomainInfo>& domains,
                          const CapacityCaps& caps, const std::function<NodeInfo()>& node);

// The adapters a LibvirtHost runs on; it owns them.
struct LibvirtAdapters {
  std::unique_ptr<Hypervisor> hypervisor;
  std::unique_ptr<IsoWriter> iso;
  std::unique_ptr<Storage> storage;
  std::unique_ptr<Random> random;
  std::unique_ptr<VpnIssuer> vpn;  // may be null: templates with VPN = YES are then refused
};

class LibvirtHost final : public Host {
 public:
  LibvirtHost(std::string name, LibvirtAdapters adapters, HostSettings settings, CapacityCaps caps);

  std::string name() const override { return name_; }
  std::string kind() const override { return "libvirt"; }
  VmSummary create(const VmTemplate& tmpl, const CreateOptions& options) override;
  bool start(const std::string& vm) override { return vms_.start(vm); }
  bool stop(const std::string& vm, bool force) override { return vms_.stop(vm, force); }
  void reboot(const std::string& vm) override { vms_.reboot(vm); }
  std::vector<std::string> remove(const std::string& vm) override { return vms_.remove(vm); }
  VmState state(const std::string& vm) override { return vms_.show(vm).state; }
  VmSummary show(const std::string& vm) override { return vms_.show(vm); }
  std::vector<VmSummary> list() override { return vms_.list(); }
  Capacity capacity() override;

  // Not part of Host: only a libvirt domain has a serial console to attach to.
  std::unique_ptr<ConsoleStream> console(const std::string& vm, bool force) {
    return vms_.console(vm, force);
  }

 private:
  std::string name_;
  LibvirtAdapters a_;
  CapacityCaps caps_;
  VmService vms_;
};

}  // namespace cloudtwin::host
