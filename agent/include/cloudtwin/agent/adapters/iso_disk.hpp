#pragma once
// libisofs and libblkid behind the ContextDisk / DiskLocator interfaces. This header
// does not include the C libraries' headers; only adapters/*.cpp do.

#include <memory>
#include <optional>
#include <string>

#include "cloudtwin/agent/context_cd.hpp"

namespace cloudtwin::agent {

// Opens an ISO 9660 image (a block device such as /dev/sr0, or an image file) and reads
// its tree in user space with libisofs, preferring Rock Ridge, then Joliet names.
// Throws Error(Io) naming the path when it is not readable or not ISO 9660.
std::unique_ptr<ContextDisk> open_iso_disk(const std::string& path);

// Searches block devices by filesystem label with libblkid (probing, not only the cache).
class BlkidLocator : public DiskLocator {
 public:
  std::optional<std::string> find_by_label(const std::string& label) override;
};

// The filesystem label of one device or image file, probed with libblkid; nullopt when
// it has none or cannot be probed.
std::optional<std::string> probe_label(const std::string& path);

}  // namespace cloudtwin::agent
