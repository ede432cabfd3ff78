#include "cloudtwin/host/host.hpp"

namespace cloudtwin::host {

std::string_view to_string(VmState state) {
  switch (state) {
    case VmState::Pending:
      return "pending";
    case VmState::Running:
      return "running";
    case VmState::Stopping:
      return "stopping";
    case VmState::Stopped:
      return "shut off";
    case VmState::Terminated:
      return "terminated";
    case VmState::Unknown:
      break;
  }
  return "unknown";
}

bool fits(const Capacity& c, unsigned vcpu, std::uint64_t memory_mib) {
  const auto within = [](std::uint64_t used, std::uint64_t more, std::uint64_t allowed) {
    return allowed == 0 || (more <= allowed && used <= allowed - more);  // no overflow
  };
  return within(c.vcpu_used, vcpu, c.vcpu_allowed) &&
         within(c.memory_mib_used, memory_mib, c.memory_mib_allowed);
}

}  // namespace cloudtwin::host
