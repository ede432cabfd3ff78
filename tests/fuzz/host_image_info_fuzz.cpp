// `qemu-img info --output=json` as cloudtwin image register|list|show parse it, plus the
// progress text of `qemu-img convert -p`: both are read from a program fed untrusted images.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto info = cloudtwin::host::parse_qemu_img_info(text, "fuzz");
    if (info.format.empty()) __builtin_trap();  // promised: never an empty format
    (void)cloudtwin::host::is_importable_format(info.format);
  } catch (const cloudtwin::Error&) {
  }
  if (const auto p = cloudtwin::host::parse_qemu_img_progress(text); p && (*p < 0 || *p > 100))
    __builtin_trap();
  return 0;
}
