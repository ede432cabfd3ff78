// The default CliEnv: the real adapters (libvirt, libisofs, libnl, qemu-img, files).
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "cloudtwin/core/error.hpp"
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
