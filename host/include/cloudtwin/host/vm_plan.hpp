#pragma once
// Planning `vm create`: from a template and what the hypervisor reports, every name,
// address, path, the context variables and the domain XML. Pure; applied by VmService.
// The XML itself is domain_xml.hpp's, the NoCloud seed nocloud.hpp's.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cloudtwin/core/context_sh.hpp"
#include "cloudtwin/core/mac_ip.hpp"
#include "cloudtwin/host/network_xml.hpp"
#include "cloudtwin/host/template.hpp"
#include "cloudtwin/record/instance.hpp"

namespace cloudtwin::host {

struct NicPlan {
  int index = 0;  // n of ETHn
  std::string network;
  std::string bridge;
  core::Ipv4 ip;
  core::Mac mac;
  core::Ipv4Cidr cidr;
  core::Ipv4 gateway;
  std::vector<std::string> dns;
  std::string model = "virtio";
  bool operator==(const NicPlan&) const = default;
};

struct DiskPlan {
  std::string base;  // backing image when `overlay`
  std::string path;  // what the domain uses
  std::string format = "qcow2";
  std::string target;
  bool readonly = false;
  bool overlay = false;
  bool operator==(const DiskPlan&) const = default;
};

struct PlanInputs {
  std::string name;  // --name; else template NAME; else the instance id
  std::string instance_id;
  std::string uuid;                                    // generate_uuid(random, template has EC2)
  std::map<std::string, NetworkSpec> networks;         // by name
  std::map<std::string, std::set<core::Ipv4>> in_use;  // by network name
  core::MacPrefix mac_prefix;  // host.conf's: for networks that record no prefix of their own
  std::string images_dir = "/var/lib/cloudtwin/images";
  std::string instances_dir = "/var/lib/cloudtwin/instances";
  // Overlays directly in instances_dir as NAME-diskN.qcow2 (a libvirt dir pool holds them),
  // instead of instances_dir/NAME/diskN.qcow2.
  bool flat_overlays = false;
  std::string domain_type = "qemu";        // TESTBED: kvm domains never boot here
  std::string nwfilter = "clean-traffic";  // empty: no anti-spoofing filter
  std::string user_ssh_key;                // $USER[SSH_PUBLIC_KEY]
  std::string uname;                       // $UNAME
  std::string placement;                   // the record's host.placement
  std::string created_at;                  // ISO 8601 UTC (the record's pending-time)
  std::string host_location;               // the libvirt URI (the record's host.location)
};

// What the guest is told about itself (template CONTEXT with references resolved, else
// the defaults): the context CD and the instance record are both rendered from this.
struct GuestIdentity {
  std::string hostname;                  // SET_HOSTNAME, else the VM name
  std::string ssh_public_keys;           // SSH_PUBLIC_KEY (one key per line)
  std::optional<std::string> user_data;  // USER_DATA as bytes (decoded if base64)
};

struct VmPlan {
  std::string name;
  std::string instance_id;
  std::string uuid;
  bool ec2 = false;
  std::string instance_dir;
  std::string iso_path;
  std::string cd_target = "hda";
  std::string cidata_path;  // NoCloud seed CD (target hdb); empty: none
  std::string console_log;  // serial console log file; empty: none
  bool vpn = false;         // issue an overlay VPN profile at create
  std::vector<NicPlan> nics;
  std::vector<DiskPlan> disks;
  core::ContextVars context;
  GuestIdentity guest;
  std::vector<std::pair<std::string, std::string>> iso_files;  // name on CD -> host path
  record::Instance record;
  std::string domain_xml;
};

// Throws Error(InvalidArgument|NotFound) naming the NIC, network or variable at fault.
VmPlan plan_vm(const VmTemplate& tmpl, const PlanInputs& in);

// Throws Error(InvalidArgument) unless `name` is 1-63 letters, digits, '-', '_', '.' (not
// starting with '.' or '-'): a domain name, a file name, an EC2 Name tag.
void check_vm_name(const std::string& name);

// The guest identity of a VM whose NICs are not planned here (an EC2 instance): the same
// CONTEXT rules as plan_vm ($NAME, $VMID, $USER[SSH_PUBLIC_KEY]; $NIC[...] is empty).
GuestIdentity plan_guest_identity(const VmTemplate& tmpl, const std::string& name,
                                  const std::string& instance_id, const std::string& user_ssh_key);
// (name, openssh-key) per line of `keys`, named after EC2/KEYPAIR ("default" without one).
std::vector<record::PublicKey> plan_public_keys(const VmTemplate& tmpl, const std::string& keys);
// The template's HTTP_TOKENS etc. as the record writes them.
record::MetadataOptionsRecord plan_metadata_options(const Ec2Spec& ec2);

// The context.sh variables OpenNebula would write for this VM (ETHn_*, SET_HOSTNAME,
// SSH_PUBLIC_KEY, USER_DATA(+_ENCODING=base64), TARGET, DISK_ID, NETWORK), then the
// template's CONTEXT after reference substitution, which overrides generated values.
core::ContextVars build_context_vars(const VmTemplate& tmpl, const VmPlan& plan,
                                     const PlanInputs& in);

}  // namespace cloudtwin::host
