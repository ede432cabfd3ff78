// host.conf (INI): the keys `cloudtwin` reads; every other part keeps its defaults.
#include "cloudtwin/host/host_conf.hpp"

#include <charconv>
#include <cstdint>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/ini.hpp"

namespace cloudtwin::host {
namespace {

template <typename Fail>
std::uint64_t positive(const std::string& key, const std::string& value, std::uint64_t max,
                       const Fail& fail) {
  std::uint64_t n = 0;
  const auto* end = value.data() + value.size();
  const auto r = std::from_chars(value.data(), end, n);
  if (r.ec != std::errc() || r.ptr != end || n == 0 || n > max)
    fail("[capacity] " + key + " = " + value + ": use a whole number from 1 to " +
         std::to_string(max) + ", or leave it out for the machine's total");
  return n;
}

}  // namespace

HostConfig parse_host_conf(std::string_view text, std::string_view source) {
  HostConfig c;
  for (const auto& entry : core::parse_ini(text, std::string(source))) {
    const auto fail = [&](const std::string& what) {
      throw ParseError(ErrorCode::InvalidArgument, std::string(source), entry.line, 1, what);
    };
    const auto& key = entry.key;
    const auto& value = entry.value;
    c.sections.insert(key.substr(0, key.find('.')));
    if (key == "libvirt.uri")
      c.uri = value;
    else if (key == "libvirt.domain_type")
      c.settings.domain_type = value;
    else if (key == "storage.images")
      c.settings.images_dir = value;
    else if (key == "storage.instances")
      c.settings.instances_dir = value;
    else if (key == "storage.overlays") {
      if (value != "auto" && value != "pool" && value != "qemu-img")
        fail("[storage] overlays = " + value + ": use auto, pool or qemu-img");
      c.overlays = value;
    } else if (key == "vpn.state_dir")
      c.settings.vpn_state_dir = value;
    else if (key == "network.nwfilter")
      c.settings.nwfilter = value == "none" ? "" : value;
    else if (key == "capacity.vcpu")
      c.capacity.vcpu = static_cast<unsigned>(positive("vcpu", value, 4096, fail));
    else if (key == "capacity.memory_mib")
      c.capacity.memory_mib = positive("memory_mib", value, std::uint64_t{1} << 40U, fail);
    else if (key == "network.mac_prefix") {
      try {
        c.settings.mac_prefix = core::MacPrefix::parse(value);
      } catch (const Error& e) {
        fail("[network] mac_prefix: " + std::string(e.what()));
      }
    }
  }
  return c;
}

}  // namespace cloudtwin::host
