#pragma once
// Netlink through libnl-route-3, in the network namespace of the calling thread at
// construction time. This header does not include libnl's headers.

#include <memory>

#include "cloudtwin/agent/netlink.hpp"

namespace cloudtwin::agent {

// Opens a NETLINK_ROUTE socket. Throws Error(System) when it cannot.
std::unique_ptr<Netlink> make_libnl_netlink();

}  // namespace cloudtwin::agent
