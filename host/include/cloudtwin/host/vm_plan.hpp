#pragma once
// Planning `vm create`: from a template and what the hypervisor reports, every name,
// address, path, the context variables and the domain XML. Pure; applied by VmService.
// The XML itself is domain_xml.hpp's, the NoCloud seed nocloud.hpp's.

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cloudtwin/core/context_sh.hpp"
#include "cloudtwin/core/mac_ip.hpp"
#include "cloudtwin/host/instance_record.hpp"
#include "cloudtwin/host/network_xml.hpp"
#include "cloudtwin/host/template.hpp"

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
  std::vector<std::pair<std::string, std::string>> iso_files;  // name on CD -> host path
  InstanceRecord record;
  std::string domain_xml;
};

// Throws Error(InvalidArgument|NotFound) naming the NIC, network or variable at fault.
VmPlan plan_vm(const VmTemplate& tmpl, const PlanInputs& in);

// The context.sh variables OpenNebula would write for this VM (ETHn_*, SET_HOSTNAME,
// SSH_PUBLIC_KEY, USER_DATA(+_ENCODING=base64), TARGET, DISK_ID, NETWORK), then the
// template's CONTEXT after reference substitution, which overrides generated values.
core::ContextVars build_context_vars(const VmTemplate& tmpl, const VmPlan& plan,
                                     const PlanInputs& in);

}  // namespace cloudtwin::host
