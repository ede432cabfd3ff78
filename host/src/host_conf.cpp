// host.conf (INI) and the default CliEnv wiring the real adapters.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/ini.hpp"
#include "cloudtwin/host/cli.hpp"

namespace cloudtwin::host {
namespace {

class DeviceRandom final : public Random {
 public:
  std::uint64_t next_u64() override {
    return (static_cast<std::uint64_t>(device_()) << 32U) | static_cast<std::uint64_t>(device_());
  }

 private:
  std::random_device device_;
};

}  // namespace

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

CliEnv default_cli_env() {
  CliEnv env;
  env.connect = [](const std::string& uri) { return make_libvirt_hypervisor(uri); };
  env.iso_writer = [] { return make_libisofs_writer(); };
  env.storage = [] { return make_local_storage(); };
  env.pool_storage = [](const std::string& uri, const std::string& instances_dir) {
    return make_libvirt_pool_storage(uri, instances_dir, make_local_storage());
  };
  env.random = []() -> std::unique_ptr<Random> { return std::make_unique<DeviceRandom>(); };
  env.image_tool = [] { return make_qemu_img_tool(); };
  env.vpn = [](const std::string& dir) { return make_vpn_issuer(dir); };
  env.terminal = [] { return make_posix_terminal(); };
  env.link_addresses = [] { return make_libnl_link_addresses(); };
  env.read_file = [](const std::string& path) -> std::optional<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      if (errno == ENOENT) return std::nullopt;
      throw Error(ErrorCode::Io, "cannot read " + path + ": " + std::strerror(errno));
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  };
  return env;
}

}  // namespace cloudtwin::host
