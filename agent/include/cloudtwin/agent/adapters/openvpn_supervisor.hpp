#pragma once
// openvpn as a supervised child where systemd does not run (sysvinit guests, tiny test
// guests, namespaces): `cloudtwin-agent vpn-supervise` is a small daemon that runs
// `openvpn --config FILE` in the foreground, restarts it with a doubling delay (1 s up to
// 60 s, back to 1 s after a minute of uptime) when it exits, forwards SIGHUP (re-read the
// profile) and stops it on SIGTERM. Its pid file proves it runs, so a second agent run
// starts nothing.

#include <filesystem>
#include <memory>
#include <string>

#include "cloudtwin/agent/vpn_join.hpp"

namespace cloudtwin::agent {

struct SupervisorOptions {
  std::filesystem::path root = "/";
  std::filesystem::path config;   // the installed profile
  std::filesystem::path pidfile;  // the supervisor's pid
  std::filesystem::path log;      // openvpn's and the supervisor's output
  std::string openvpn = "/usr/sbin/openvpn";
};

// The paths under `root`: /etc/cloudtwin/vpn/client.ovpn, /run/cloudtwin/vpn-client.pid,
// /var/log/cloudtwin/vpn-client.log.
SupervisorOptions supervisor_options(const std::filesystem::path& root);

// Starts `<this executable> vpn-supervise --root ROOT` detached (new session, reparented
// to init), and waits up to 3 s for its pid file.
std::unique_ptr<TunnelService> make_supervised_openvpn(SupervisorOptions options);

// The supervisor's loop; returns (0) after SIGTERM or SIGINT, once openvpn has stopped.
int run_openvpn_supervisor(const SupervisorOptions& options);

}  // namespace cloudtwin::agent
