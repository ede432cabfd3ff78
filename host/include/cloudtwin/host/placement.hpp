#pragma once
// Where `vm create` puts a VM: local first while its [capacity] allows, then EC2 within
// [ec2] max_instances, unless `--on HOST` or the template's REQUIREMENTS = 'NAME = "HOST"'
// pins it. Pure: the hosts' figures in, the choice and its reason out.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cloudtwin/host/host.hpp"

namespace cloudtwin::host {

struct PlacementCandidate {
  std::string name;  // "local", "ec2"
  std::string kind;  // "libvirt", "ec2"
  Capacity capacity;
};

struct PlacementRequest {
  std::string vm;  // for messages
  unsigned vcpu = 1;
  std::uint64_t memory_mib = 512;
  bool ec2_ready = false;     // the template has EC2 = [ AMI = ... ]
  std::string instance_type;  // the EC2 type it would run as
  std::string pinned;         // a host's name or kind; empty: free placement
  std::string pinned_by;      // "--on" or "REQUIREMENTS"
};

struct Placement {
  std::size_t index = 0;  // into the candidates
  std::string reason;     // printed by `vm create` and kept as the record's host.placement
  bool operator==(const Placement&) const = default;
};

// "vCPU 3/4, memory 1536/2048 MiB" or "t3.micro 4/4, m5.large 0/1" (`cloud list`).
std::string capacity_text(const PlacementCandidate& c);
// The same after the host: "local: vCPU 3/4, ...", "ec2 (ec2:eu-west-1): t3.micro 4/4".
std::string capacity_figures(const PlacementCandidate& c);

// Whether an EC2 host's caps allow one more instance of `type`: no caps at all, or the
// type listed with used < allowed.
bool ec2_type_fits(const Capacity& c, const std::string& type);

// Throws Error(InvalidArgument) when nothing fits or the pinned host is unknown or full,
// naming every host's used/allowed figures and what the user can do.
Placement place(const std::vector<PlacementCandidate>& hosts, const PlacementRequest& request);

}  // namespace cloudtwin::host
