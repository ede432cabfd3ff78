#include "cloudtwin/agent/netlink.hpp"

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {

NetworkOutcome apply_plan(Netlink& netlink, const NetworkPlan& plan) {
  NetworkOutcome out;
  out.warnings = plan.warnings;
  const auto changes = diff(plan, netlink.observe());
  out.warnings.insert(out.warnings.end(), changes.warnings.begin(), changes.warnings.end());
  for (const auto& op : changes.operations) {
    try {
      netlink.apply(op);
      out.applied.push_back(to_string(op));
    } catch (const Error& e) {
      out.errors.push_back(e.what());
    }
  }
  return out;
}

}  // namespace cloudtwin::agent
