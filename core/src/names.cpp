#include "cloudtwin/core/names.hpp"

namespace cloudtwin::core {

bool is_plain_name(std::string_view name, std::size_t max_size) noexcept {
  if (name.empty() || name.size() > max_size || name.front() == '.' || name.front() == '-')
    return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace cloudtwin::core
