#pragma once
// Joining the overlay VPN (issue 6, item 4): find the VM's OpenVPN client profile in its
// configuration, check it, install it 0600, make sure openvpn runs (systemd unit or the
// agent's own supervisor, both behind TunnelService), wait for the tap and report its
// state. The profile logic is pure; processes and netlink sit behind seams.
//
// Where the profile comes from, first found wins:
//   1. context variable VPN_PROFILE_BASE64 (what `cloudtwin vm create` writes for VPN=YES);
//   2. a file named vpn.ovpn on the context CD (listed in FILES);
//   3. a user-data MIME part with Content-Type application/x-openvpn-profile;
//   4. /etc/cloudtwin/vpn.ovpn under the root, written by a #cloud-config write_files entry
//      (the user-data step runs before this one).
// The installed copy is /etc/cloudtwin/vpn/client.ovpn; its `dev` line is replaced by a
// fixed tap name (kVpnInterface) so the agent knows which interface to wait for.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/agent/datasource.hpp"
#include "cloudtwin/agent/netlink.hpp"
#include "cloudtwin/agent/report.hpp"
#include "cloudtwin/agent/user_data_run.hpp"

namespace cloudtwin::agent {

inline constexpr const char* kVpnProfilePath = "/etc/cloudtwin/vpn/client.ovpn";
inline constexpr const char* kVpnWriteFilesPath = "/etc/cloudtwin/vpn.ovpn";
inline constexpr const char* kVpnCdFileName = "vpn.ovpn";
inline constexpr const char* kVpnContentType = "application/x-openvpn-profile";
inline constexpr const char* kVpnInterface = "ctvpn0";

// --- pure ----------------------------------------------------------------------------

struct VpnProfileSource {
  std::string origin;  // "context VPN_PROFILE_BASE64", "user-data part 2", ...
  std::string text;
};

// The first profile of the list above. `written_file` is the content of
// <root>/etc/cloudtwin/vpn.ovpn ("" when absent). Throws Error naming the variable or the
// user-data when it is present but cannot be decoded.
std::optional<VpnProfileSource> find_vpn_profile(const Datasource& source,
                                                 std::string_view written_file);

// Checks that `text` is a single-file OpenVPN client profile for a TAP tunnel (client,
// dev tap, remote, inline ca/cert/key with matching PEM markers) without directives that
// run programs (up, down, plugin, ...), and returns the text to install: a header, then
// the profile with its dev line(s) replaced by "dev <ifname>" + "dev-type tap".
// Throws ParseError(origin, line) saying what is wrong.
std::string prepare_vpn_profile(std::string_view text, const std::string& origin,
                                std::string_view ifname = kVpnInterface);

// Overlay address the agent sets itself when the server pushes none: context VPN_IP with
// VPN_MASK (default 255.255.255.0). nullopt when VPN_IP is unset. Throws
// Error(ContextBadValue) naming the variable.
std::optional<InterfaceAddress> vpn_overlay_address(const Datasource& source);

// The tunnel as netlink sees it.
TunnelReport observe_tunnel(const ObservedState& observed, std::string_view ifname);

// --- seams ---------------------------------------------------------------------------

// Whatever keeps openvpn running: a systemd unit, or the agent's supervisor process.
class TunnelService {
 public:
  virtual ~TunnelService() = default;
  virtual std::string manager() const = 0;  // "systemd openvpn-client@cloudtwin", "supervisor"
  // The supervising process id (0: running under systemd), nullopt when not running.
  virtual std::optional<int> running() = 0;
  virtual void start() = 0;   // throws Error(System) when it cannot be started
  virtual void reload() = 0;  // the profile changed: openvpn must re-read it
};

// openvpn-client@cloudtwin.service (Debian's and Fedora's openvpn packages ship the
// template): /etc/openvpn/client/cloudtwin.conf is a symlink to the installed profile.
std::unique_ptr<TunnelService> make_systemd_tunnel(const std::filesystem::path& root,
                                                   const std::filesystem::path& log,
                                                   ProcessRunner& runner);

// --- the step ------------------------------------------------------------------------

struct VpnJoinOptions {
  std::filesystem::path root = "/";
  std::string ifname = kVpnInterface;
  std::chrono::milliseconds wait{20000};  // for the tunnel, before reporting "connecting"
  std::chrono::milliseconds poll{100};
  std::chrono::milliseconds grace{1500};  // tap up without an address: the server pushes none
};

struct VpnJoinResult {
  StepResult result = StepResult::Skipped;
  std::vector<std::string> messages;
  std::optional<TunnelReport> tunnel;
};

using Sleeper = std::function<void(std::chrono::milliseconds)>;
using SteadyClock = std::function<std::chrono::steady_clock::time_point()>;

// Finds, installs and starts; waits up to options.wait for the tunnel. A tunnel still
// down then is reported as "connecting" (openvpn keeps retrying with its own backoff,
// and the supervisor restarts it): not an error, the rest of the boot goes on.
// A second run with the same profile changes nothing.
VpnJoinResult join_vpn(const Datasource& source, const VpnJoinOptions& options,
                       const std::function<std::unique_ptr<TunnelService>()>& service,
                       const std::function<std::unique_ptr<Netlink>()>& netlink, Sleeper sleep = {},
                       SteadyClock now = {});

}  // namespace cloudtwin::agent
