#pragma once
// The one rule for names cloudtwin turns into file names, libvirt names and certificate
// CNs (VM names, image names, the VPN's VM ids), so they cannot differ between modules.

#include <cstddef>
#include <string_view>

namespace cloudtwin::core {

// 1 to `max_size` of [A-Za-z0-9._-], not starting with '.' or '-' (no hidden files, no
// option-like arguments, nothing to escape in a path, XML or a CN).
bool is_plain_name(std::string_view name, std::size_t max_size) noexcept;

}  // namespace cloudtwin::core
