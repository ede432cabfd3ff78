// libFuzzer target for user-data decoding: base64 detection, gunzip, MIME splitting.
// Only cloudtwin::Error may escape parse_user_data; any other exception, crash, leak or
// sanitizer report is a bug in core/src/user_data.cpp.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/user_data.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cloudtwin::core;
  // Small limits keep every input fast and make the limit paths reachable.
  UserDataLimits limits;
  limits.max_input = 16 * 1024;
  limits.max_decoded = 64 * 1024;
  limits.max_parts = 16;
  limits.max_depth = 3;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    const auto parts = parse_user_data(input, UserDataEncoding::Auto, limits);
    std::size_t total = 0;
    for (const auto& part : parts) total += part.content.size();
    if (parts.size() > limits.max_parts + 1 || total > limits.max_decoded) __builtin_trap();
  } catch (const cloudtwin::Error&) {
  }
  // The raw bytes as MIME, even when they would have been taken for base64 above.
  try {
    (void)split_user_data(input, limits);
  } catch (const cloudtwin::Error&) {
  }
  // base64: whatever decodes must survive an encode/decode round trip.
  try {
    const std::string decoded = base64_decode(input);
    if (base64_decode(base64_encode(decoded)) != decoded) __builtin_trap();
  } catch (const cloudtwin::Error&) {
  }
  return 0;
}
