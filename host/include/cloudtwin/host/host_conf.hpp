#pragma once
// /etc/cloudtwin/host.conf, as `cloudtwin` reads it.

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloudtwin/host/ec2_host.hpp"
#include "cloudtwin/host/libvirt_host.hpp"
#include "cloudtwin/host/vm_service.hpp"

namespace cloudtwin::host {

// /etc/cloudtwin/host.conf: [libvirt] uri, domain_type; [storage] images, instances, overlays;
// [network] mac_prefix, nwfilter ("none" disables it); [vpn] state_dir; [capacity] vcpu,
// memory_mib (what cloudtwin's VMs may use here; unset: the machine's totals); [ec2] region,
// endpoint, profile, max_instances, default_instance_type (the EC2 host, there when the
// section is: `cloudtwin cloud add ec2` writes it). Missing keys keep their defaults.
struct HostConfig {
  std::string uri = "qemu:///system";
  std::string overlays = "auto";  // [storage] overlays: auto | pool | qemu-img
  // [inventory] path: the control node's hosts, networks and leases (`cloudtwin host ...`).
  std::string inventory = "/var/lib/cloudtwin/inventory.db";
  HostSettings settings;
  CapacityCaps capacity;
  Ec2Config ec2;
  std::set<std::string> sections;  // those present: each may configure a host (cli/hosts.cpp)
};
// Throws ParseError with line and column for a line that is not a section, a
// key = value pair, blank or a comment, and for a bad mac_prefix or capacity figure.
HostConfig parse_host_conf(std::string_view text, std::string_view source = "host.conf");

// `text` (host.conf) with `values` set in [section]: a key already there is replaced on its
// line, the others are added at the end of the section (made at the end when missing);
// every other line, comments included, stays as it was.
std::string set_ini_values(std::string_view text, const std::string& section,
                           const std::vector<std::pair<std::string, std::string>>& values);

}  // namespace cloudtwin::host
