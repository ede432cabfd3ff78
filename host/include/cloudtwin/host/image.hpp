#pragma once
// Base images: the files in [storage] images, one per name, always qcow2. The registry is
// that directory (no second table); which VMs use an image comes from their records.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/host/adapters.hpp"

namespace cloudtwin::host {

struct ImageInfo {
  std::string format;  // qemu-img's name: raw, qcow2, vmdk, vdi, vpc (VHD), ...
  std::uint64_t virtual_size = 0;
  std::uint64_t actual_size = 0;
  std::string backing_file;  // empty when none
  bool operator==(const ImageInfo&) const = default;
};

// `qemu-img info --output=json`; throws Error(InvalidArgument) naming `source` when the
// text is not JSON or lacks "format" / "virtual-size".
ImageInfo parse_qemu_img_info(std::string_view json, std::string_view source);

// Formats `image register` converts (qemu-img names; "vhd" is accepted for "vpc").
bool is_importable_format(std::string_view format);
std::string normalise_format(std::string_view format);

// 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'; throws Error(InvalidArgument).
void check_image_name(const std::string& name);
// "/x/debian-12.raw" -> "debian-12.qcow2"
std::string default_image_name(std::string_view source_path);

// The last "(12.34/100%)" in qemu-img -p output, as 12.34.
std::optional<double> parse_qemu_img_progress(std::string_view output);

// 1536 -> "1.5 KiB"
std::string human_size(std::uint64_t bytes);

struct ImageSummary {
  std::string name;
  std::string path;
  ImageInfo info;
  std::vector<std::string> used_by;  // VM names
};

class ImageService {
 public:
  ImageService(Storage& storage, ImageTool& tool, Hypervisor& hv, std::string images_dir,
               std::string lock_path)
      : storage_(storage),
        tool_(tool),
        hv_(hv),
        dir_(std::move(images_dir)),
        lock_path_(std::move(lock_path)) {}

  // Detects the format (unless `format` is given), converts to qcow2 under a temporary
  // name and renames it into place, so a failed import leaves nothing a VM could use.
  ImageSummary register_image(const std::string& source, const std::string& name,
                              const std::string& format,
                              const std::function<void(double)>& progress);
  std::vector<ImageSummary> list();
  ImageSummary show(const std::string& name);  // Error(NotFound)
  void remove(const std::string& name);        // refused while a VM uses it

 private:
  std::vector<std::string> users_of(const std::string& name);
  Storage& storage_;
  ImageTool& tool_;
  Hypervisor& hv_;
  std::string dir_;
  std::string lock_path_;
};

}  // namespace cloudtwin::host
