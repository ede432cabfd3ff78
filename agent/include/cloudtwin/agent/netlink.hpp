#pragma once
// The seam between the network plan and the kernel: observe the links, apply one
// operation. The libnl implementation is in adapters/; tests use a fake.

#include <string>
#include <vector>

#include "cloudtwin/agent/network_plan.hpp"

namespace cloudtwin::agent {

class Netlink {
 public:
  virtual ~Netlink() = default;
  // Links with their addresses and main-table routes. Throws Error(System).
  virtual ObservedState observe() = 0;
  // Applies one operation; "already exists" is success. Throws Error(System) naming
  // the operation and the kernel's reason.
  virtual void apply(const Operation& op) = 0;
};

struct NetworkOutcome {
  std::vector<std::string> applied;   // operations done, as text
  std::vector<std::string> warnings;  // from the plan and the diff
  std::vector<std::string> errors;    // operations that failed, with the reason
  bool ok() const noexcept { return errors.empty(); }
};

// Observe, diff, apply every operation in order. A failed operation is recorded and
// the rest still run (a NIC that fails must not keep the others down). Throws only
// when the state cannot be observed at all.
NetworkOutcome apply_plan(Netlink& netlink, const NetworkPlan& plan);
// The same from a state the caller has just observed (one netlink dump of links,
// addresses and routes less when the plan was made from it).
NetworkOutcome apply_plan(Netlink& netlink, const NetworkPlan& plan, const ObservedState& observed);

}  // namespace cloudtwin::agent
