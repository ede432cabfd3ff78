#include "cloudtwin/vpn/port_probe.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::vpn {

namespace {

// EADDRINUSE from bind() on the wildcard address of `family`; the probe socket is closed
// at once, so it never holds the port.
bool bind_in_use(int family, std::uint16_t port) {
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (errno == EAFNOSUPPORT) return false;
    throw Error(ErrorCode::System, std::string("cannot create a UDP socket to probe the port: ") +
                                       std::strerror(errno));
  }
  int rc = 0;
  if (family == AF_INET6) {
    const int one = 1;  // the IPv4 half is probed on its own socket
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_any;
    addr.sin6_port = htons(port);
    rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } else {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = htons(port);
    rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  }
  const int err = errno;
  ::close(fd);
  return rc != 0 && err == EADDRINUSE;
}

}  // namespace

bool udp_port_in_use(std::uint16_t port) {
  return bind_in_use(AF_INET, port) || bind_in_use(AF_INET6, port);
}

}  // namespace cloudtwin::vpn
