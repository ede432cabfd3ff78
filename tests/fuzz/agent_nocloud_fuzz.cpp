// libFuzzer target: NoCloud meta-data and network-config (v1/v2) YAML -> the agent's
// model. Only cloudtwin::Error may escape (yaml-cpp's exceptions are translated).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cloudtwin/agent/nocloud.hpp"
#include "cloudtwin/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)cloudtwin::agent::parse_nocloud_meta_data(text, "fuzz");
  } catch (const cloudtwin::Error&) {
  }
  try {
    const auto plan = cloudtwin::agent::parse_network_config(text, "fuzz");
    for (const auto& nic : plan.nics) {
      for (const auto& a : nic.addresses) {
        if (a.prefix_length < 0 || a.prefix_length > 128) __builtin_trap();
      }
    }
  } catch (const cloudtwin::Error&) {
  }
  return 0;
}
