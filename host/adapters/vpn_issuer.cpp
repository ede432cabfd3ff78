// VpnIssuer over cloudtwin::vpn (state dir, OpenSSL PKI).
//
// Two layouts are accepted under [vpn] state_dir (default /var/lib/cloudtwin/vpn):
// one overlay initialised straight in it (`cloudtwin vpn init --state-dir DIR`), or one
// per libvirt network in DIR/NET (`cloudtwin vpn init --network NET`, the layout the
// cloudtwin-vpn@NET unit runs). A VM is served by the overlay whose LAN holds its lease.
#include <algorithm>
#include <ctime>
#include <filesystem>
#include <optional>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/adapters.hpp"
#include "cloudtwin/vpn/config_text.hpp"
#include "cloudtwin/vpn/files.hpp"
#include "cloudtwin/vpn/service.hpp"
#include "cloudtwin/vpn/state_text.hpp"

namespace cloudtwin::host {
namespace {

namespace fs = std::filesystem;

class StateDirVpn final : public VpnIssuer {
 public:
  explicit StateDirVpn(std::string dir) : base_(std::move(dir)) {}
  std::string state_dir() override { return base_; }
  bool initialised() override { return !overlays().empty(); }

  std::string issue(const std::string& instance_id, const std::string& ip) override {
    const auto address = core::Ipv4::parse(ip);
    for (const auto& dir : overlays()) {
      const vpn::StatePaths paths{dir};
      const auto settings = vpn::parse_settings(vpn::read_file(paths.settings()), paths.settings());
      if (!settings.network.contains(address)) continue;
      const auto r = vpn::issue(dir, instance_id, address, std::time(nullptr));
      return vpn::read_file(r.profile_path);
    }
    throw Error(ErrorCode::NotFound,
                "no VPN overlay under " + base_ + " covers " + ip +
                    "; run `cloudtwin vpn init --network NET` for its network");
  }

  void revoke(const std::string& instance_id) override {
    for (const auto& dir : overlays()) {
      const vpn::StatePaths paths{dir};
      if (!vpn::file_exists(paths.index())) continue;
      for (const auto& e : vpn::parse_index(vpn::read_file(paths.index()), paths.index())) {
        if (e.vm_id == instance_id) {
          vpn::revoke(dir, instance_id, std::time(nullptr));
          return;
        }
      }
    }
    throw Error(ErrorCode::NotFound, "VM " + instance_id + " has no VPN profile under " + base_);
  }

 private:
  // The base dir when initialised itself, else each initialised DIR/NET, sorted.
  std::vector<std::string> overlays() const {
    if (vpn::file_exists(vpn::StatePaths{base_}.settings())) return {base_};
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(base_, ec)) {
      if (entry.is_directory(ec) &&
          vpn::file_exists(vpn::StatePaths{entry.path().string()}.settings())) {
        out.push_back(entry.path().string());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string base_;
};

}  // namespace

std::unique_ptr<VpnIssuer> make_vpn_issuer(std::string state_dir) {
  return std::make_unique<StateDirVpn>(std::move(state_dir));
}

}  // namespace cloudtwin::host
