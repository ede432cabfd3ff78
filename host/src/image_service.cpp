#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/image.hpp"
#include "cloudtwin/host/image_import.hpp"
#include "cloudtwin/host/vm_service.hpp"

namespace cloudtwin::host {

std::vector<std::string> ImageService::users_of(const std::string& name) {
  std::vector<std::string> users;
  for (const auto& r : records_of(hv_.list_domains())) {
    for (const auto& i : r.host.images) {
      if (i == name) {
        users.push_back(r.host.name);
        break;
      }
    }
  }
  return users;
}

ImageSummary ImageService::register_image(const std::string& source, const std::string& name_in,
                                          const std::string& format_in,
                                          const std::function<void(double)>& progress) {
  const auto name = name_in.empty() ? default_image_name(source) : name_in;
  check_image_name(name);
  if (!storage_.exists(source))
    throw Error(ErrorCode::NotFound, "image file " + source + " does not exist");
  const auto format = normalise_format(format_in);
  if (!format.empty() && !is_importable_format(format)) {
    throw Error(ErrorCode::InvalidArgument,
                "--format " + format_in + " is not one of raw, qcow2, vmdk, vdi, vhd");
  }
  const auto info = parse_qemu_img_info(tool_.info_json(source, format), source);
  if (!is_importable_format(info.format)) {
    throw Error(ErrorCode::InvalidArgument,
                source + " is a '" + info.format +
                    "' image; cloudtwin imports raw, qcow2, vmdk, vdi and vhd (vpc)");
  }
  auto lock = storage_.lock(lock_path_);
  const auto path = dir_ + "/" + name;
  if (storage_.exists(path)) {
    throw Error(ErrorCode::InvalidArgument,
                "an image named '" + name + "' already exists; choose another --name");
  }
  // A dot name is invisible to `image list` and to templates until the rename.
  const auto part = dir_ + "/." + name + ".part-" + std::to_string(::getpid());
  try {
    tool_.convert_to_qcow2(source, info.format, part, progress);
    storage_.rename(part, path);
  } catch (...) {
    try {
      storage_.remove_file(part);
    } catch (const Error&) {  // report the conversion failure, the cause
    }
    throw;
  }
  return {name, path, parse_qemu_img_info(tool_.info_json(path, "qcow2"), path), {}};
}

std::vector<ImageSummary> ImageService::list() {
  std::vector<ImageSummary> out;
  const auto records = records_of(hv_.list_domains());
  for (const auto& name : storage_.list_files(dir_)) {
    ImageSummary s{name, dir_ + "/" + name, {}, {}};
    // A file that is not an image is listed with an empty format rather than hiding others.
    try {
      s.info = parse_qemu_img_info(tool_.info_json(s.path, ""), s.path);
    } catch (const Error&) {
    }
    for (const auto& r : records) {
      for (const auto& i : r.host.images) {
        if (i == name) {
          s.used_by.push_back(r.host.name);
          break;
        }
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

ImageSummary ImageService::show(const std::string& name) {
  check_image_name(name);
  const auto path = dir_ + "/" + name;
  if (!storage_.exists(path)) {
    throw Error(ErrorCode::NotFound,
                "no image named '" + name + "' in " + dir_ + " (see cloudtwin image list)");
  }
  return {name, path, parse_qemu_img_info(tool_.info_json(path, ""), path), users_of(name)};
}

void ImageService::remove(const std::string& name) {
  auto lock = storage_.lock(lock_path_);  // the lock `vm create` holds: no VM appears meanwhile
  const auto s = show(name);
  if (!s.used_by.empty()) {
    std::string vms;
    for (const auto& v : s.used_by) vms += (vms.empty() ? "" : ", ") + v;
    throw Error(ErrorCode::InvalidArgument,
                "image '" + name + "' is used by VM(s) " + vms + "; delete them first");
  }
  storage_.remove_file(s.path);
  storage_.remove_file(image_record_path(dir_, name));  // `image import`'s record, if any
}

}  // namespace cloudtwin::host
