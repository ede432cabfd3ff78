// libFuzzer target for AMI bundle manifests (ec2-bundle-image's XML): a manifest either
// parses, with its parts numbered 0..n-1 and plain file names, or throws cloudtwin::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cloudtwin/aws/ami_manifest.hpp"
#include "cloudtwin/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto m = cloudtwin::aws::parse_ami_manifest(text, "fuzz");
    for (std::size_t i = 0; i < m.parts.size(); ++i) {
      if (m.parts[i].index != i || m.parts[i].filename.find('/') != std::string::npos) std::abort();
    }
  } catch (const cloudtwin::Error&) {
  }
  return 0;
}
