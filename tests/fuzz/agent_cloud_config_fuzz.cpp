// libFuzzer target: #cloud-config text -> the agent's model (yaml-cpp). Only
// cloudtwin::Error (ParseError for YAML, Error for shapes and encodings) may escape.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cloudtwin/agent/cloud_config.hpp"
#include "cloudtwin/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto c = cloudtwin::agent::parse_cloud_config(text, "fuzz");
    for (const auto& cmd : c.runcmd) {
      if (cmd.argv.empty()) __builtin_trap();
    }
  } catch (const cloudtwin::Error&) {
  }
  return 0;
}
