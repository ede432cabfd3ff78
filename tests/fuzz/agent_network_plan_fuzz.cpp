// libFuzzer target: context.sh text -> network plan -> operations. Invariants beyond
// "no crash": only cloudtwin::Error escapes (and only from parsing); planning never
// throws; applying the operations to the observed state and diffing again gives nothing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cloudtwin/agent/network_plan.hpp"
#include "cloudtwin/core/context_sh.hpp"
#include "cloudtwin/core/error.hpp"

using namespace cloudtwin;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  core::ContextVars vars;
  try {
    vars = core::parse_context_sh(text);
  } catch (const Error&) {
    return 0;
  }
  const core::Context context(vars);
  agent::PlanOptions options;
  options.metadata_route = size % 2 == 0;
  const auto plan = agent::plan_from_context(context, options);
  // Observe one link per planned MAC, empty and down, then "apply" by hand.
  agent::ObservedState state;
  int ifindex = 2;
  for (const auto& nic : plan.nics) {
    agent::Link link;
    link.ifindex = ifindex++;
    link.name = "eth" + std::to_string(link.ifindex);
    link.mac = nic.mac;
    link.mtu = 1500;
    state.links.push_back(link);
  }
  for (const auto& op : agent::diff(plan, state).operations) {
    for (auto& link : state.links) {
      if (link.ifindex != op.ifindex) continue;
      if (op.kind == agent::OperationKind::SetMtu) link.mtu = op.mtu;
      if (op.kind == agent::OperationKind::SetUp) link.up = true;
      if (op.kind == agent::OperationKind::AddAddress) link.addresses.push_back(*op.address);
      if (op.kind == agent::OperationKind::AddRoute) link.routes.push_back(*op.route);
    }
  }
  if (!agent::diff(plan, state).operations.empty()) __builtin_trap();
  return 0;
}
