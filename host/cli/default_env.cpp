// The default CliEnv: the real adapters (libvirt, libisofs, libnl, qemu-img, files).
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include "cloudtwin/aws/adapters/beast_http_client.hpp"
#include "cloudtwin/aws/adapters/credential_files.hpp"
#include "cloudtwin/aws/adapters/openssl_crypto.hpp"
#include "cloudtwin/aws/adapters/system_timing.hpp"
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
  env.write_file = [](const std::string& path, const std::string& text, unsigned mode) {
    const auto tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    const auto fail = [&] {
      throw Error(ErrorCode::Io, "cannot write " + path + ": " + std::strerror(errno));
    };
    if (fd < 0) fail();
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (!written || ::fsync(fd) != 0 || ::close(fd) != 0) fail();
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail();
  };
  env.ec2 = [](const Ec2Config& config) {
    Ec2Adapters a;
    a.http = aws::make_beast_http_client();
    a.crypto = std::make_unique<aws::OpenSslCrypto>();
    a.timing = std::make_unique<aws::SystemTiming>();
    a.credentials = [config] {
      const aws::LocalConfigFiles files;
      return aws::resolve_aws_settings(aws::process_environment(), files,
                                       {config.profile, config.region})
          .credentials;
    };
    return a;
  };
  return env;
}

}  // namespace cloudtwin::host
