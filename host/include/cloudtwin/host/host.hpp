#pragma once
// One host of the cloud: where VMs run. `cloudtwin vm ...` goes through this interface
// without knowing whether a VM is a libvirt domain on this machine (LibvirtHost), an EC2
// instance or a domain on a remote hypervisor. A new kind of host is one implementation
// plus one row in the CLI's host table (host/cli/hosts.cpp).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudtwin/host/template.hpp"
#include "cloudtwin/record/instance.hpp"

namespace cloudtwin::host {

// EC2's instance states, which libvirt's map onto (running / shut off).
enum class VmState { Pending, Running, Stopping, Stopped, Terminated, Unknown };
// The word `vm list|show` prints: "pending", "running", "stopping", "shut off",
// "terminated", "unknown" ("shut off" is virsh's word, which cloudtwin has always printed).
std::string_view to_string(VmState state);

// One host's figures, for placement and `cloud list`.
struct Capacity {
  std::string host;                          // "local", later "kvm1", "ec2:eu-west-1"
  unsigned vcpu_used = 0, vcpu_allowed = 0;  // allowed 0: no cap
  std::uint64_t memory_mib_used = 0, memory_mib_allowed = 0;
  // EC2: instances of each type, used / allowed ([ec2] max_instances). No entry with an
  // allowed figure: no cap; else a type is allowed only up to its own figure.
  std::map<std::string, std::pair<unsigned, unsigned>> instances_by_type;
  bool operator==(const Capacity&) const = default;
};

// Whether a VM of `vcpu` vCPUs and `memory_mib` MiB fits beside what `c` has running
// (a figure whose allowed is 0 has no cap).
bool fits(const Capacity& c, unsigned vcpu, std::uint64_t memory_mib);

struct CreateOptions {
  std::string name;          // --name; empty: the template's NAME, else the instance id
  std::string user_ssh_key;  // --ssh-key's key: $USER[SSH_PUBLIC_KEY]
  std::string placement;     // why this host (placement.hpp): kept as the record's host.placement
};

struct VmSummary {
  std::string name;
  VmState state = VmState::Unknown;
  std::optional<record::Instance> record;  // absent for VMs cloudtwin did not create
  bool running() const { return state == VmState::Running; }
};

class Host {
 public:
  virtual ~Host() = default;
  virtual std::string name() const = 0;  // "local"
  virtual std::string kind() const = 0;  // "libvirt" | "ec2"

  // Creates and starts a VM. On failure everything done so far is undone and the error
  // (cloudtwin::Error) is rethrown.
  virtual VmSummary create(const VmTemplate& tmpl, const CreateOptions& options) = 0;
  // start/stop return false when the VM already was in the wanted state; stop asks the
  // guest (ACPI) unless `force`, which pulls the plug. reboot needs a running VM.
  virtual bool start(const std::string& vm) = 0;
  virtual bool stop(const std::string& vm, bool force) = 0;
  virtual void reboot(const std::string& vm) = 0;
  // Releases everything the VM's record names; returns warnings for parts already gone.
  virtual std::vector<std::string> remove(const std::string& vm) = 0;
  // Error(NotFound) naming the VM when this host has no such VM.
  virtual VmState state(const std::string& vm) = 0;
  virtual VmSummary show(const std::string& vm) = 0;
  virtual std::vector<VmSummary> list() = 0;
  virtual Capacity capacity() = 0;
};

}  // namespace cloudtwin::host
