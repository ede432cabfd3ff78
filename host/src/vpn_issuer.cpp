// VpnIssuer over cloudtwin::vpn (state dir, OpenSSL PKI).
#include <ctime>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/vpn/config_text.hpp"
#include "cloudtwin/vpn/files.hpp"
#include "cloudtwin/vpn/service.hpp"

namespace cloudtwin::host {
namespace {

class StateDirVpn final : public VpnIssuer {
 public:
  explicit StateDirVpn(std::string dir) : paths_{std::move(dir)} {}
  std::string state_dir() override { return paths_.dir; }
  bool initialised() override { return vpn::file_exists(paths_.settings()); }
  std::string issue(const std::string& instance_id, const std::string& ip) override {
    const auto r = vpn::issue(paths_.dir, instance_id, core::Ipv4::parse(ip), std::time(nullptr));
    return vpn::read_file(r.profile_path);
  }
  void revoke(const std::string& instance_id) override {
    vpn::revoke(paths_.dir, instance_id, std::time(nullptr));
  }

 private:
  vpn::StatePaths paths_;
};

}  // namespace

std::unique_ptr<VpnIssuer> make_vpn_issuer(std::string state_dir) {
  return std::make_unique<StateDirVpn>(std::move(state_dir));
}

}  // namespace cloudtwin::host
