// libFuzzer target: an OpenVPN client profile as delivered in a VM's context -> the text
// the agent installs. Only cloudtwin::Error (ParseError) may escape; an accepted profile
// always has the agent's own dev line and is accepted again unchanged in substance.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cloudtwin/agent/vpn_join.hpp"
#include "cloudtwin/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto out = cloudtwin::agent::prepare_vpn_profile(text, "fuzz");
    if (out.find("\ndev ctvpn0\ndev-type tap\n") == std::string::npos) __builtin_trap();
    (void)cloudtwin::agent::prepare_vpn_profile(out, "fuzz-again");
  } catch (const cloudtwin::Error&) {
  }
  return 0;
}
