// The VPN step over its seams (TunnelService, Netlink, sleep and clock), and the systemd
// TunnelService, which only runs systemctl through the ProcessRunner.
#include <sys/stat.h>

#include <algorithm>
#include <thread>

#include "cloudtwin/agent/access.hpp"
#include "cloudtwin/agent/vpn_join.hpp"
#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUnit = "openvpn-client@cloudtwin.service";

class SystemdTunnel : public TunnelService {
 public:
  SystemdTunnel(fs::path root, fs::path log, ProcessRunner& runner)
      : root_(std::move(root)), log_(std::move(log)), runner_(runner) {}

  std::string manager() const override { return std::string("systemd ") + kUnit; }

  std::optional<int> running() override {
    if (runner_.run({"systemctl", "is-active", "--quiet", kUnit}, log_) == 0) return 0;
    return std::nullopt;
  }

  void start() override {
    // The unit reads /etc/openvpn/client/%i.conf: point it at the installed profile.
    const auto link = under_root(root_, "/etc/openvpn/client/cloudtwin.conf");
    std::error_code ec;
    if (!fs::is_symlink(link, ec)) {
      fs::create_directories(link.parent_path());
      fs::remove(link, ec);
      fs::create_symlink(kVpnProfilePath, link);
    }
    systemctl({"enable", "--now", kUnit});
  }

  void reload() override { systemctl({"restart", kUnit}); }

 private:
  void systemctl(std::vector<std::string> args) {
    args.insert(args.begin(), "systemctl");
    const int rc = runner_.run(args, log_);
    if (rc != 0) {
      std::string cmd;
      for (const auto& a : args) cmd += (cmd.empty() ? "" : " ") + a;
      throw Error(ErrorCode::System, "'" + cmd + "' failed with exit " + std::to_string(rc) +
                                         " (see " + log_.string() + " and `journalctl -u " + kUnit +
                                         "`)");
    }
  }

  fs::path root_;
  fs::path log_;
  ProcessRunner& runner_;
};

std::string seconds(std::chrono::milliseconds d) {
  return std::to_string(d.count() / 1000) + "." + std::to_string(d.count() % 1000 / 100) + " s";
}

// Installs the profile when it differs; true when it did.
bool install_profile(const fs::path& root, const std::string& text, const std::string& origin,
                     std::vector<std::string>& messages) {
  const auto path = under_root(root, kVpnProfilePath);
  if (read_or_empty(path) == text) {
    ::chmod(path.c_str(), 0600);
    messages.push_back("profile from " + origin + " already installed as " + kVpnProfilePath);
    return false;
  }
  fs::create_directories(path.parent_path());
  ::chmod(path.parent_path().c_str(), 0700);  // it holds the VM's private key
  write_file_atomic(path, text, 0600);
  messages.push_back("installed profile from " + origin + " as " + kVpnProfilePath + " (0600)");
  return true;
}

}  // namespace

std::unique_ptr<TunnelService> make_systemd_tunnel(const fs::path& root, const fs::path& log,
                                                   ProcessRunner& runner) {
  return std::make_unique<SystemdTunnel>(root, log, runner);
}

VpnJoinResult join_vpn(const Datasource& source, const VpnJoinOptions& options,
                       const std::function<std::unique_ptr<TunnelService>()>& service,
                       const std::function<std::unique_ptr<Netlink>()>& netlink, Sleeper sleep,
                       SteadyClock now) {
  if (!sleep) sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  if (!now) now = [] { return std::chrono::steady_clock::now(); };
  VpnJoinResult r;
  const auto found =
      find_vpn_profile(source, read_or_empty(under_root(options.root, kVpnWriteFilesPath)));
  if (!found) return r;  // no overlay for this VM: skipped, silently like the other steps
  // A corrupt profile throws here, before anything is installed or started.
  const auto text = prepare_vpn_profile(found->text, found->origin, options.ifname);
  const bool changed = install_profile(options.root, text, found->origin, r.messages);

  auto svc = service();
  auto pid = svc->running();
  if (!pid) {
    svc->start();
    pid = svc->running();
    r.messages.push_back("started openvpn (" + svc->manager() + ")");
  } else if (changed) {
    svc->reload();
    r.messages.push_back("profile changed: openvpn reloaded (" + svc->manager() + ")");
  } else {
    r.messages.push_back("openvpn already running (" + svc->manager() + ")");
  }

  std::optional<InterfaceAddress> overlay;
  try {
    overlay = vpn_overlay_address(source);
  } catch (const Error& e) {
    r.messages.emplace_back(e.what());
  }
  auto nl = netlink();
  const auto start = now();
  std::optional<std::chrono::steady_clock::time_point> up_without_address;
  TunnelReport t;
  for (;;) {
    const auto observed = nl->observe();
    t = observe_tunnel(observed, options.ifname);
    if (t.state == "up") break;
    const Link* tap = nullptr;
    for (const auto& l : observed.links) tap = l.name == options.ifname ? &l : tap;
    const bool no_v4 =
        tap && std::none_of(tap->addresses.begin(), tap->addresses.end(),
                            [](const InterfaceAddress& a) { return !is_ipv6(a.ip); });
    if (tap && tap->up && no_v4) {
      if (!up_without_address) up_without_address = now();
      if (now() - *up_without_address >= options.grace) {
        if (!overlay || !tap->mac) {
          t.state = "up-no-address";
          r.messages.push_back(options.ifname +
                               " is up but has no address: the server pushed "
                               "none and the context has no VPN_IP");
          break;
        }
        NetworkPlan plan;
        InterfacePlan nic;
        nic.mac = *tap->mac;
        nic.source = "VPN_IP";
        nic.addresses.push_back(*overlay);
        plan.nics.push_back(nic);
        const auto outcome = apply_plan(*nl, plan);
        for (const auto& a : outcome.applied)
          r.messages.push_back(a + " (not pushed by the server)");
        for (const auto& e : outcome.errors) r.messages.push_back(e);
        overlay.reset();
        continue;
      }
    }
    if (now() - start >= options.wait) break;
    sleep(options.poll);
  }
  t.manager = svc->manager();
  t.pid = pid.value_or(0);
  t.profile = kVpnProfilePath;
  if (t.state == "up") {
    std::string addrs;
    for (const auto& a : t.addresses) addrs += " " + a;
    r.messages.push_back("tunnel up: " + options.ifname + addrs);
  } else if (t.state == "connecting") {
    r.messages.push_back(
        "tunnel not up after " +
        seconds(std::chrono::duration_cast<std::chrono::milliseconds>(now() - start)) +
        "; openvpn keeps retrying in the background (state 'connecting')");
  }
  r.tunnel = t;
  r.result = StepResult::Ok;
  return r;
}

}  // namespace cloudtwin::agent
