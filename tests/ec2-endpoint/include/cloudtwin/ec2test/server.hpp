#pragma once
// The test endpoint on a TCP listener (Boost.Beast, HTTP/1.1 keep-alive), served by a
// background thread from construction to destruction.

#include <cstdint>
#include <memory>
#include <string>

#include "cloudtwin/ec2test/service.hpp"

namespace cloudtwin::ec2test {

class EndpointServer {
 public:
  // Port 0: any free port (see port()). Throws Error when it cannot listen.
  EndpointServer(Ec2Service& service, const std::string& address = "127.0.0.1",
                 std::uint16_t port = 0);
  ~EndpointServer();
  EndpointServer(const EndpointServer&) = delete;
  EndpointServer& operator=(const EndpointServer&) = delete;

  std::uint16_t port() const noexcept;
  std::string url() const;  // http://ADDRESS:PORT/
  // Blocks until stop() (called from another thread or a signal handler's thread).
  void wait();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloudtwin::ec2test
