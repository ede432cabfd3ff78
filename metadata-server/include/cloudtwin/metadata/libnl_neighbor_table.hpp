#pragma once
// Adapter: reads the kernel's neighbour table over rtnetlink with libnl-route.
#include "cloudtwin/metadata/neighbor_table.hpp"

namespace cloudtwin::metadata {

class LibnlNeighborTable : public NeighborTable {
 public:
  // One netlink dump per call, on a socket of its own (thread-safe). The server asks
  // once per TCP connection, not per request.
  std::vector<std::string> macs(std::string_view device, std::string_view address) override;
};

}  // namespace cloudtwin::metadata
