#pragma once
// A pre-flight check for `vpn init`: is the UDP port the server will listen on already
// taken in this network namespace? OpenVPN itself only says so when it starts, in a log.

#include <cstdint>

namespace cloudtwin::vpn {

// True when binding UDP `port` on all IPv4 or all IPv6 addresses fails with EADDRINUSE
// (OpenVPN's `proto udp` binds the wildcard address). Other bind errors (no IPv6 in this
// namespace, say) are not "in use" and return false; socket() failing throws Error(System).
bool udp_port_in_use(std::uint16_t port);

}  // namespace cloudtwin::vpn
