#pragma once
// The network plan persisted for the distro's own stack, so later boots and tools agree
// with what `local` applied through netlink (afterburn's network.rs, as pure renderers):
// systemd-networkd .network files, ifupdown stanzas, NetworkManager keyfiles; DNS as a
// systemd-resolved drop-in or /etc/resolv.conf. Text in, text out; install_network_files
// writes the result under a root.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cloudtwin/agent/network_plan.hpp"

namespace cloudtwin::agent {

enum class Renderer { Networkd, Ifupdown, NetworkManager };
const char* to_string(Renderer r) noexcept;

struct RenderedFile {
  std::string path;  // absolute, in the guest ("/etc/systemd/network/10-cloudtwin-....network")
  std::string content;
  unsigned mode = 0644;
  bool operator==(const RenderedFile&) const = default;
};

struct Rendered {
  std::vector<RenderedFile> files;
  std::vector<std::string> warnings;
};

// "auto" detects from the files under the root (`exists` answers for a guest path without
// following links; `masked` for a unit name, true when /etc/systemd/system/UNIT -> /dev/null):
// networkd when systemd-networkd is installed and enabled, else NetworkManager when it is
// installed and enabled, else ifupdown when /etc/network/interfaces exists and, on a systemd
// system, ifup is installed and networking.service is enabled; nullopt: nothing to persist for
// (the netlink configuration is then all there is). Enabled means a link in
// /etc/systemd/system/{multi-user,network-online,network,sysinit}.target.wants/ and not
// masked: an installed but disabled service, or a leftover /etc/NetworkManager, is no reason
// to write its files. Other values of `configured` name one renderer.
std::optional<Renderer> choose_renderer(const std::string& configured,
                                        const std::function<bool(const std::string&)>& exists,
                                        const std::function<bool(const std::string&)>& masked);

// One /etc/systemd/network/10-cloudtwin-<mac>.network per NIC (matched by MAC).
Rendered render_networkd(const NetworkPlan& plan);
// /etc/network/interfaces.d/cloudtwin: ifupdown names interfaces, so each NIC's name is
// looked up by MAC in `observed`; NICs without a link are left out with a warning.
Rendered render_ifupdown(const NetworkPlan& plan, const ObservedState& observed);
// /etc/NetworkManager/system-connections/cloudtwin-<mac>.nmconnection (0600, as NM wants).
Rendered render_networkmanager(const NetworkPlan& plan);

// DNS servers and search domains of all NICs, in order, without duplicates:
// a /etc/systemd/resolved.conf.d/cloudtwin.conf drop-in when `resolved` is true, else
// /etc/resolv.conf. Nothing when the plan has no DNS server.
std::optional<RenderedFile> render_dns(const NetworkPlan& plan, bool resolved);

// Writes each file whose content differs (atomically); returns what it wrote.
std::vector<std::string> install_network_files(const std::filesystem::path& root,
                                               const std::vector<RenderedFile>& files);

}  // namespace cloudtwin::agent
