#pragma once
// `vm create|list|show|delete|start|stop|reboot|console` over the adapters.
// create is plan-then-apply: every step done is recorded, and on failure the steps are
// undone in reverse so that no domain, overlay, CD, directory or DHCP reservation is left.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cloudtwin/core/mac_ip.hpp"
#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/host/host.hpp"
#include "cloudtwin/host/lease.hpp"
#include "cloudtwin/host/network_xml.hpp"
#include "cloudtwin/host/template.hpp"
#include "cloudtwin/host/vm_plan.hpp"
#include "cloudtwin/record/instance.hpp"

namespace cloudtwin::host {

struct HostSettings {
  std::string images_dir = "/var/lib/cloudtwin/images";
  std::string instances_dir = "/var/lib/cloudtwin/instances";
  core::MacPrefix mac_prefix;
  std::string domain_type = "qemu";
  std::string nwfilter = "clean-traffic";  // [network] nwfilter; "none" in host.conf: ""
  std::string vpn_state_dir = "/var/lib/cloudtwin/vpn";  // [vpn] state_dir
  // Overlays are volumes of a libvirt storage pool on instances_dir, named NAME-diskN.qcow2
  // in it (a pool cannot hold subdirectories); else qemu-img makes them as
  // instances_dir/NAME/diskN.qcow2. Resolved from [storage] overlays and the URI.
  bool overlay_pool = false;
  std::string uri;  // the libvirt connection (the record's host.location)
};

// [storage] overlays: "pool" | "qemu-img" | "auto" (pool, except on test:///... URIs, whose
// driver keeps volumes in memory only). Throws Error(InvalidArgument) for anything else.
bool use_overlay_pool(const std::string& setting, const std::string& uri);

class VmService {
 public:
  // `vpn` may be null: templates with VPN = YES are then refused. `clock` null: the
  // system's (a VM's pending-time is its creation time).
  VmService(Hypervisor& hv, IsoWriter& iso, Storage& storage, Random& random, HostSettings settings,
            VpnIssuer* vpn = nullptr, const Clock* clock = nullptr);

  // Returns the applied plan. Throws cloudtwin::Error after rolling back.
  // `placement`: why this host (kept as the record's host.placement).
  VmPlan create(const VmTemplate& tmpl, const std::string& name, const std::string& user_ssh_key,
                const std::string& placement = {});
  // Releases everything the VM's record names; returns warnings for parts already gone.
  std::vector<std::string> remove(const std::string& name);
  std::vector<VmSummary> list();
  VmSummary show(const std::string& name);  // Error(NotFound)

  // Power. start/stop return false when the VM already was in the wanted state; stop asks
  // the guest (ACPI) unless `force`, which pulls the plug. reboot needs a running VM.
  bool start(const std::string& name);
  bool stop(const std::string& name, bool force);
  void reboot(const std::string& name);
  std::unique_ptr<ConsoleStream> console(const std::string& name, bool force);

 private:
  void write_cds(const VmPlan& plan);
  void release_record_files(const record::Instance& r, std::vector<std::string>& warnings);

  Hypervisor& hv_;
  IsoWriter& iso_;
  Storage& storage_;
  Random& random_;
  HostSettings settings_;
  VpnIssuer* vpn_;
  const Clock& clock_;
};

// VM records from a domain list (domains without a readable record are skipped).
std::vector<record::Instance> records_of(const std::vector<DomainInfo>& domains);

}  // namespace cloudtwin::host
