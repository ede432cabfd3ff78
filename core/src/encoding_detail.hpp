#pragma once
// Internal to core/src: the bounded stream reading and base64 scanning shared by
// encoding.cpp and user_data.cpp. Not installed, not part of the public API.
#include <Poco/MemoryStream.h>

#include <cstddef>
#include <istream>
#include <optional>
#include <string>
#include <string_view>

namespace cloudtwin::core::detail {

inline constexpr std::string_view kWhitespace = " \t\r\n\v\f";

char ascii_lower(char c) noexcept;
bool starts_with_ci(std::string_view s, std::string_view prefix) noexcept;
std::string describe_byte(char c);

Poco::MemoryInputStream memory_stream(std::string_view data);

// Reads a (decoding) stream to its end in chunks, never holding more than limit + 1
// bytes: this is what stops a gzip bomb. Throws Error(UserDataTooLarge) naming `what`
// and the UserDataLimits `field`.
std::string read_bounded(std::istream& in, std::size_t limit, const std::string& what,
                         const std::string& field);

struct Base64Scan {
  std::string clean;  // alphabet characters only, padded to a multiple of 4
  std::optional<std::size_t> error_offset;
  std::string error;
};
Base64Scan scan_base64(std::string_view text);
std::string decode_clean_base64(const std::string& clean);

}  // namespace cloudtwin::core::detail
