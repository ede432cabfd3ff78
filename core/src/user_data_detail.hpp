#pragma once
// Internal to core: the user-data rules shared by user_data.cpp (classification,
// decoding) and mime.cpp (MIME splitting, in cloudtwin_core_mime). Not installed.
#include <cstddef>
#include <string>
#include <string_view>

#include "cloudtwin/core/strings.hpp"
#include "cloudtwin/core/user_data.hpp"

namespace cloudtwin::core::detail {

using core::lower;
using core::trim;

[[noreturn]] void throw_too_large(const std::string& what, std::size_t size, std::size_t limit,
                                  const std::string& field);

struct PrefixRule {
  std::string_view prefix;
  std::string_view content_type;
  UserDataKind kind;
};

inline constexpr std::string_view kUndefinedType = "text/plain";

// cloud-init's type of a payload from its first line; null when no rule matches.
const PrefixRule* match_prefix(std::string_view data) noexcept;
UserDataKind kind_for_content_type(std::string_view content_type) noexcept;

}  // namespace cloudtwin::core::detail
