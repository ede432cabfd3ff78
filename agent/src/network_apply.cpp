#include "cloudtwin/agent/netlink.hpp"

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {

NetworkOutcome apply_plan(Netlink& netlink, const NetworkPlan& plan) {
  return apply_plan(netlink, plan, netlink.observe());
}

NetworkOutcome apply_plan(Netlink& netlink, const NetworkPlan& plan,
                          const ObservedState& observed) {
  NetworkOutcome out;
  out.warnings = plan.warnings;
  const auto changes = diff(plan, observed);
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
