#include "cloudtwin/host/image.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::host {

ImageInfo parse_qemu_img_info(std::string_view json, std::string_view source) {
  const auto bad = [&](const std::string& why) {
    return Error(ErrorCode::InvalidArgument,
                 "qemu-img info for " + std::string(source) + ": " + why);
  };
  Poco::JSON::Object::Ptr o;
  try {
    Poco::JSON::Parser parser;
    o = parser.parse(std::string(json)).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception& e) {
    throw bad("output is not a JSON object: " + e.displayText());
  } catch (const std::exception& e) {  // Poco::Dynamic::Var throws std::exception subclasses
    throw bad(std::string("output is not a JSON object: ") + e.what());
  }
  ImageInfo info;
  try {
    if (!o->has("format") || !o->has("virtual-size"))
      throw bad("no \"format\" or \"virtual-size\"");
    // Poco converts between types on request; a format that is not a string is no format.
    if (!o->get("format").isString() || !o->get("virtual-size").isInteger())
      throw bad("\"format\" is not a string or \"virtual-size\" not an integer");
    info.format = o->getValue<std::string>("format");
    const auto vs = o->getValue<Poco::Int64>("virtual-size");
    if (vs < 0) throw bad("negative \"virtual-size\"");
    info.virtual_size = static_cast<std::uint64_t>(vs);
    if (o->has("actual-size")) {
      const auto as = o->getValue<Poco::Int64>("actual-size");
      info.actual_size = as < 0 ? 0 : static_cast<std::uint64_t>(as);
    }
    if (o->has("backing-filename") && o->get("backing-filename").isString())
      info.backing_file = o->getValue<std::string>("backing-filename");
  } catch (const Poco::Exception& e) {
    throw bad("unexpected field type: " + e.displayText());
  }
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
  bool ok = !name.empty() && name.size() <= 64 && name.front() != '.' && name.front() != '-';
  for (char c : name) {
    ok = ok &&
         (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.');
  }
  if (!ok) {
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
