// The only file that includes libblkid.
#include <blkid.h>

#include <cstdlib>

#include "cloudtwin/agent/adapters/iso_disk.hpp"

namespace cloudtwin::agent {

std::optional<std::string> BlkidLocator::find_by_label(const std::string& label) {
  blkid_cache cache = nullptr;
  // Not fatal: without a cache file libblkid still probes the devices.
  blkid_get_cache(&cache, nullptr);
  char* device = blkid_evaluate_tag("LABEL", label.c_str(), &cache);
  std::optional<std::string> out;
  if (device) {
    out = device;
    std::free(device);
  }
  if (cache) blkid_put_cache(cache);
  return out;
}

std::optional<std::string> probe_label(const std::string& path) {
  blkid_probe probe = blkid_new_probe_from_filename(path.c_str());
  if (!probe) return std::nullopt;
  blkid_probe_enable_superblocks(probe, 1);
  blkid_probe_set_superblocks_flags(probe, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_TYPE);
  std::optional<std::string> out;
  if (blkid_do_safeprobe(probe) == 0) {
    const char* value = nullptr;
    std::size_t len = 0;
    if (blkid_probe_lookup_value(probe, "LABEL", &value, &len) == 0 && value) out = value;
  }
  blkid_free_probe(probe);
  return out;
}

}  // namespace cloudtwin::agent
