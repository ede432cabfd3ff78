#pragma once
// Private to the CLI: the hosts `cloudtwin vm ...` reaches, opened from host.conf. A new
// kind of host is its Host implementation plus one row in kHostKinds (hosts.cpp).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli_args.hpp"
#include "cloudtwin/host/host.hpp"
#include "cloudtwin/host/placement.hpp"

namespace cloudtwin::host {

struct HostKind {
  std::string_view kind;  // Host::kind()
  // The host.conf section that configures it: a kind is opened when its section is there,
  // or always (the local libvirt host runs on defaults).
  std::string_view section;
  bool always = false;
  std::unique_ptr<Host> (*open)(const CliContext& ctx) = nullptr;
};

const std::vector<HostKind>& host_kinds();

class Hosts {
 public:
  explicit Hosts(const CliContext& ctx);  // opens every configured host, in table order
  // Where `vm create` puts a VM of `tmpl` (placement.hpp): local first while its capacity
  // allows, then EC2 within its caps, unless `on` (--on) or REQUIREMENTS pins it.
  std::pair<Host*, Placement> for_create(const VmTemplate& tmpl, const std::string& vm,
                                         const std::string& on);
  // The host that has VM `vm`; Error(NotFound) when none has.
  Host& holding(const std::string& vm);
  std::vector<VmSummary> list();  // every host's VMs, host by host
  const std::vector<std::unique_ptr<Host>>& all() const { return hosts_; }
  std::vector<PlacementCandidate> candidates();

 private:
  std::vector<std::unique_ptr<Host>> hosts_;
};

}  // namespace cloudtwin::host
