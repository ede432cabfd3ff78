// libFuzzer target: what the agent reads from the EC2 metadata service and its own
// agent.conf. Input: "<mac>\0<device-number>\0<local-ipv4s>\0<subnet>\0<ipv6s>\0<v6 blocks>"
// for one NIC, the whole input also as a listing, a metadata URL and an agent.conf.
// Invariants: only cloudtwin::Error escapes; planning never throws; the plan's
// operations applied to an empty link and diffed again give nothing.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "cloudtwin/agent/agent_config.hpp"
#include "cloudtwin/agent/ec2.hpp"
#include "cloudtwin/core/error.hpp"

using namespace cloudtwin;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)agent::parse_listing(text);
  (void)agent::public_key_indexes(text);
  try {
    (void)agent::parse_metadata_url(text);
  } catch (const Error&) {
  }
  try {
    (void)agent::parse_agent_config(text, "fuzz.conf");
  } catch (const Error&) {
  }
  std::string fields[6];
  std::size_t i = 0;
  for (const char c : text) {
    if (c == '\0') {
      if (++i == 6) break;
    } else {
      fields[i] += c;
    }
  }
  const char* names[] = {"device-number", "local-ipv4s", "subnet-ipv4-cidr-block", "ipv6s",
                         "subnet-ipv6-cidr-blocks"};
  std::map<std::string, std::string> files;
  for (int f = 0; f < 5; ++f) {
    if (!fields[f + 1].empty()) files.emplace(names[f], fields[f + 1]);
  }
  agent::Ec2Metadata md;
  try {
    md.nics.push_back(agent::parse_ec2_nic(fields[0], files));
  } catch (const Error&) {
    return 0;
  }
  for (const auto mode :
       {agent::Ec2PrimaryMode::Auto, agent::Ec2PrimaryMode::Dhcp, agent::Ec2PrimaryMode::Static}) {
    const auto plan = agent::plan_from_ec2(md, mode);
    agent::Link link;
    link.ifindex = 2;
    link.name = "eth0";
    link.mac = md.nics[0].mac;
    agent::ObservedState state{{link}};
    const auto changes = agent::diff(plan, state);
    for (const auto& op : changes.operations) {
      auto& l = state.links[0];
      if (op.kind == agent::OperationKind::SetUp) l.up = true;
      if (op.kind == agent::OperationKind::AddAddress) l.addresses.push_back(*op.address);
      if (op.kind == agent::OperationKind::AddRoute) l.routes.push_back(*op.route);
    }
    if (!agent::diff(plan, state).operations.empty()) __builtin_trap();
  }
  return 0;
}
