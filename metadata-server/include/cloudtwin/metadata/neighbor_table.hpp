#pragma once
// Who is really asking: the kernel's neighbour table (ARP / NDP) says which MAC
// address a source IP was last seen at. A VM that takes another VM's IP still has its
// own MAC, so the neighbour entry unmasks it. The interface lives here (the server
// uses it); the libnl implementation is an adapter (libnl_neighbor_table.hpp).

#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/record/instance.hpp"

namespace cloudtwin::metadata {

class NeighborTable {
 public:
  virtual ~NeighborTable() = default;
  // Link-layer addresses (canonical lowercase aa:bb:cc:dd:ee:ff) the kernel holds for
  // `address` on `device` ("" = on any device). Empty when there is no usable entry
  // (loopback, an entry still being resolved). Throws Error(System) when the table
  // cannot be read.
  virtual std::vector<std::string> macs(std::string_view device, std::string_view address) = 0;
};

// True when every MAC the kernel has for the caller's address is one of the record's
// NICs (also true when there is no entry: nothing to contradict the source address).
// Strict on purpose: with an unbound listener, an entry for the same address on
// another bridge carrying a foreign MAC refuses the caller rather than guessing.
bool neighbor_macs_match(const record::Instance& instance,
                         const std::vector<std::string>& observed);

}  // namespace cloudtwin::metadata
