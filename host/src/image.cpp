#include "cloudtwin/host/image.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/names.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::host {

ImageInfo parse_qemu_img_info(std::string_view json, std::string_view source) {
  const auto bad = [&](const std::string& why) {
    return Error(ErrorCode::InvalidArgument,
                 "qemu-img info for " + std::string(source) + ": " + why);
  };
  const auto o = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  if (!o.is_object()) throw bad("output is not a JSON object");
  const auto format = o.find("format");
  const auto size = o.find("virtual-size");
  if (format == o.end() || size == o.end()) throw bad("no \"format\" or \"virtual-size\"");
  if (!format->is_string() || !size->is_number_integer())
    throw bad("\"format\" is not a string or \"virtual-size\" not an integer");
  if (!size->is_number_unsigned() && size->get<std::int64_t>() < 0)
    throw bad("negative \"virtual-size\"");
  ImageInfo info;
  info.format = format->get<std::string>();
  info.virtual_size = size->get<std::uint64_t>();
  if (const auto actual = o.find("actual-size"); actual != o.end()) {
    if (!actual->is_number_integer()) throw bad("\"actual-size\" is not an integer");
    info.actual_size = actual->is_number_unsigned() ? actual->get<std::uint64_t>() : 0;
  }
  if (const auto backing = o.find("backing-filename"); backing != o.end() && backing->is_string())
    info.backing_file = backing->get<std::string>();
  if (info.format.empty()) throw bad("empty \"format\"");
  return info;
}

std::string normalise_format(std::string_view format) {
  auto f = core::lower(format);
  return f == "vhd" ? "vpc" : f;
}

bool is_importable_format(std::string_view format) {
  static constexpr std::array<std::string_view, 5> kFormats = {"raw", "qcow2", "vmdk", "vdi",
                                                               "vpc"};
  const auto f = normalise_format(format);
  for (const auto k : kFormats) {
    if (f == k) return true;
  }
  return false;
}

void check_image_name(const std::string& name) {
  if (!core::is_plain_name(name, 64)) {
    throw Error(
        ErrorCode::InvalidArgument,
        "image name '" + name +
            "' must be 1-64 letters, digits, '-', '_' or '.', not starting with '.' or '-'");
  }
}

std::string default_image_name(std::string_view path) {
  const auto slash = path.find_last_of('/');
  auto base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const auto dot = base.find_last_of('.');
  if (dot != std::string_view::npos && dot > 0) base = base.substr(0, dot);
  return std::string(base) + ".qcow2";
}

std::optional<double> parse_qemu_img_progress(std::string_view output) {
  for (auto end = output.rfind("/100%)"); end != std::string_view::npos;
       end = end == 0 ? std::string_view::npos : output.rfind("/100%)", end - 1)) {
    const auto open = output.rfind('(', end);
    if (open == std::string_view::npos) return std::nullopt;
    double v = 0;
    const auto* first = output.data() + open + 1;
    const auto* last = output.data() + end;
    const auto r = std::from_chars(first, last, v);
    if (r.ec == std::errc() && r.ptr == last && v >= 0 && v <= 100) return v;
  }
  return std::nullopt;
}

std::string human_size(std::uint64_t bytes) {
  static constexpr std::array<const char*, 5> kUnits = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  std::size_t u = 0;
  while (v >= 1024 && u + 1 < kUnits.size()) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

}  // namespace cloudtwin::host
