#pragma once
// A network namespace for one test, made and removed with iproute2. Everything a test
// creates in it (bridge, taps, qemu's traffic) disappears with it, and it has no route
// out: guests booted on its bridge can reach only the namespace.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/vm/process.hpp"

namespace cloudtwin::vm {

class NetNs {
 public:
  // Creates "<prefix>-<pid>-<n>" with lo up, after deleting "<prefix>-<pid>-*" namespaces
  // whose process is gone (a test killed by ctest's timeout cannot clean up).
  // Throws Error(System) when `ip netns add` fails.
  explicit NetNs(std::string_view prefix = "ctvm");
  ~NetNs();  // ip netns del: removes the bridge and taps too
  NetNs(const NetNs&) = delete;
  NetNs& operator=(const NetNs&) = delete;

  const std::string& name() const noexcept { return name_; }

  // A bridge, up, with `cidr` (e.g. "192.168.122.1/24") as its address.
  void add_bridge(const std::string& bridge, const std::string& cidr);
  // One more address on an existing link (e.g. 169.254.169.254/32 on br0).
  void add_address(const std::string& link, const std::string& cidr);
  // A persistent tap, up and enslaved to `bridge`, for qemu's -netdev tap,ifname=.
  void add_tap(const std::string& tap, const std::string& bridge);

  // Runs argv inside the namespace (ip netns exec).
  CommandResult exec(const std::vector<std::string>& argv,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;
  // argv prefixed with "ip netns exec NAME".
  std::vector<std::string> wrap(const std::vector<std::string>& argv) const;

 private:
  void ip(const std::vector<std::string>& args);
  std::string name_;
};

// Runs f in a forked child that joined the network namespace /run/netns/NAME and returns
// what f returned, or "EXCEPTION: ..." when f threw or the namespace could not be joined
// (then f did not run, so nothing touches the machine's own network). The calling
// process never changes namespace. Shared by the netns-labelled tests of every module.
std::string run_in_netns(const std::string& name, const std::function<std::string()>& f);

}  // namespace cloudtwin::vm
