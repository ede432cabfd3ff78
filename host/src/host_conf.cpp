// host.conf (INI): the keys `cloudtwin` reads; every other part keeps its defaults.
#include "cloudtwin/host/host_conf.hpp"

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/ini.hpp"

namespace cloudtwin::host {

HostConfig parse_host_conf(std::string_view text, std::string_view source) {
  HostConfig c;
  for (const auto& entry : core::parse_ini(text, std::string(source))) {
    const auto fail = [&](const std::string& what) {
      throw ParseError(ErrorCode::InvalidArgument, std::string(source), entry.line, 1, what);
    };
    const auto& key = entry.key;
    const auto& value = entry.value;
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
