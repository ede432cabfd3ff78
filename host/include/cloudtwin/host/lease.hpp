#pragma once
// Address leasing from a network's CIDR. The addresses in use are derived by the caller
// from the VMs on the network (their instance records), never from a second table.

#include <chrono>
#include <cstdint>
#include <set>
#include <string>

#include "cloudtwin/core/mac_ip.hpp"

namespace cloudtwin::host {

// The lowest host address of `cidr` that is not the network, broadcast or gateway
// address and not in `in_use`. Deterministic. Throws Error(InvalidArgument) naming
// `network_name` when the range is exhausted.
core::Ipv4 lease_address(const core::Ipv4Cidr& cidr, const core::Ipv4& gateway,
                         const std::set<core::Ipv4>& in_use, const std::string& network_name);

// Checks a requested address (NIC/IP) the same way; throws Error(InvalidArgument) saying why.
void check_requested_address(const core::Ipv4Cidr& cidr, const core::Ipv4& gateway,
                             const std::set<core::Ipv4>& in_use, const core::Ipv4& ip,
                             const std::string& network_name);

// Seam for randomness: tests pass a fixed sequence.
class Random {
 public:
  virtual ~Random() = default;
  virtual std::uint64_t next_u64() = 0;
};

// Seam for the time (a VM's creation time): tests pass a fixed one.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point now() const = 0;
};

// "i-" + 17 lowercase hex digits, like EC2.
std::string generate_instance_id(Random& random);
// A version 4 UUID; with `ec2_prefix` it starts with "ec2", which cloud-init reads as
// "this is EC2" from the SMBIOS system UUID.
std::string generate_uuid(Random& random, bool ec2_prefix);

}  // namespace cloudtwin::host
