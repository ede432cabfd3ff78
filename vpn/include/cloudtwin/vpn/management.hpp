#pragma once
// A client of OpenVPN's management interface on a unix socket (`management PATH unix`),
// used to drop a revoked VM's open session: the CRL alone only refuses new handshakes.

#include <chrono>
#include <string>

namespace cloudtwin::vpn {

enum class KillOutcome {
  NoServer,  // no socket, or nothing listening: the server is not running
  Killed,    // the server dropped the session(s) of that common name
  NotConnected,
};

// Finds the sessions of COMMON_NAME (`status 2`) and ends each with `client-kill CID`,
// which tells the client to restart, so it reconnects at once and meets the CRL (plain
// `kill` ends the server's side only; a UDP client notices after ping-restart). Throws Error(Io)
// when the server answers something unexpected or does not answer within `timeout`.
KillOutcome kill_client(const std::string& socket_path, const std::string& common_name,
                        std::chrono::milliseconds timeout = std::chrono::seconds(3));

}  // namespace cloudtwin::vpn
