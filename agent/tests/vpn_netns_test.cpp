// The remote VM joins the LAN over OpenVPN with nothing but its context (issue 6, item 4),
// against Debian's real openvpn, in the vpn module's topology:
//   host      LAN bridge br0 192.168.77.1/24 + the OpenVPN server (configured by
//             cloudtwin::vpn), whose tap joins br0;
//   local-vm  192.168.77.10 on a veth in br0;
//   remote-vm reaches host only over wan0, a veth standing for the internet
//             (198.51.100.0/30); its agent gets a context CD with ETH0_* for wan0 and
//             VPN_PROFILE_BASE64, and runs `local` then `final` (the real binary).
// Everything stays in these namespaces; the agent writes under a temp --root.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <optional>
#include <sstream>
#include <thread>

#include "cloudtwin/core/user_data.hpp"
#include "cloudtwin/vm/spawn.hpp"
#include "cloudtwin/vpn/cli.hpp"
#include "temp_dir.hpp"

namespace cloudtwin::agent {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using Ns = vm::NamedNetns;
using vm::run_logged;
using vm::spawn_logged;
using vm::wait_for;
using vm::wait_until;

std::string skip_reason() {
  if (::geteuid() != 0) return "needs root to create network namespaces (label netns)";
  if (::access("/usr/sbin/openvpn", X_OK) != 0) return "/usr/sbin/openvpn is not installed";
  if (!testing::have_program("busybox")) return "busybox is not installed (ping, nc)";
  if (!testing::have_program("genisoimage")) return "genisoimage is not installed (context CD)";
  if (::access("/dev/net/tun", R_OK | W_OK) != 0) return "/dev/net/tun is not available";
  if (run_logged({"ip", "-V"}) != 0) return "iproute2's ip is not on PATH";
  return "";
}

class VpnJoinNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const auto reason = skip_reason(); !reason.empty()) GTEST_SKIP() << reason;
    const auto id = std::to_string(::getpid());
    host.emplace("ctav-host-" + id);
    local.emplace("ctav-local-" + id);
    remote.emplace("ctav-remote-" + id);
    ASSERT_TRUE(host->ok() && local->ok() && remote->ok()) << "ip netns add failed";
    const std::vector<std::vector<std::string>> host_cmds{
        {"link", "set", "lo", "up"},
        {"link", "add", "br0", "type", "bridge"},
        {"addr", "add", "192.168.77.1/24", "dev", "br0"},
        {"link", "set", "br0", "up"},
        {"link", "add", "wan0", "type", "veth", "peer", "name", "wan0", "address",
         "02:00:c6:33:64:02", "netns", remote->name()},
        {"addr", "add", "198.51.100.1/30", "dev", "wan0"},
        {"link", "set", "wan0", "up"},
        {"link", "add", "vm0", "type", "veth", "peer", "name", "eth0", "netns", local->name()},
        {"link", "set", "vm0", "master", "br0", "up"},
    };
    for (const auto& c : host_cmds) ASSERT_EQ(host->ip(c), 0) << c[0] << " " << c[1] << " " << c[2];
    ASSERT_EQ(remote->ip({"link", "set", "lo", "up"}), 0);  // wan0 is left to the agent
    ASSERT_EQ(local->ip({"addr", "add", "192.168.77.10/24", "dev", "eth0"}), 0);
    ASSERT_EQ(local->ip({"link", "set", "eth0", "up"}), 0);
  }

  void TearDown() override {
    // The supervisor outlives the agent by design: stop it (it stops openvpn).
    const auto pid_text = testing::read_text(root() / "run/cloudtwin/vpn-client.pid");
    if (const int pid = std::atoi(pid_text.c_str()); pid > 1) {
      ::kill(pid, SIGTERM);
      wait_until([&] { return ::kill(pid, 0) != 0; }, 8s);
    }
    if (server_pid > 0) {
      ::kill(server_pid, SIGTERM);
      wait_for(server_pid);
    }
  }

  std::filesystem::path root() const { return dir.path() / "root"; }
  std::string log(const std::string& name) const { return testing::read_text(dir.path() / name); }
  std::string logs() const {
    return "==== server\n" + log("server.log") + "==== agent\n" + log("agent.log") +
           "==== supervisor\n" + testing::read_text(root() / "var/log/cloudtwin/vpn-client.log");
  }

  std::string vpn(std::vector<std::string> args) {
    args.push_back("--state-dir=" + (dir.path() / "vpn").string());
    std::ostringstream out, err;
    if (vpn::run_cli(args, out, err) != 0) ADD_FAILURE() << args[0] << ": " << err.str();
    return out.str();
  }

  // Runs the agent binary in remote-vm; returns its exit code, its output in `out`.
  int agent(const std::string& stage, const std::filesystem::path& iso, std::string& out) {
    const auto log_path = dir.path() / ("agent-" + stage + std::to_string(++runs) + ".log");
    const int rc = run_logged(
        remote->exec({CLOUDTWIN_AGENT_BIN, stage, "--root", root().string(), "--datasources",
                      "context", "--context-device", iso.string(), "--vpn-wait", "20"}),
        log_path.string());
    out = testing::read_text(log_path);
    testing::write_file(dir.path() / "agent.log", log("agent.log") + out);
    return rc;
  }

  bool ping(const Ns& from, const std::string& to) {
    return wait_until(
        [&] {
          return run_logged(from.exec({"busybox", "ping", "-c", "1", "-W", "1", to})) == 0;
        },
        5s);
  }

  // A line sent over TCP from `from` reaches a listener in `to` at `address`.
  // One TCP message through the tunnel. busybox nc -l takes one connection and exits: after
  // a send that connected, wait for the listener to have written the text (it may lag the
  // sender), and start a new listener when the last one is gone without it.
  bool tcp(const Ns& from, const Ns& to, const std::string& address, const std::string& text) {
    const auto got = (dir.path() / ("nc-" + text)).string();
    const auto listen = [&] {
      return spawn_logged(to.exec({"busybox", "nc", "-l", "-p", "7000"}), got);
    };
    const auto arrived = [&] { return testing::read_text(got).find(text) != std::string::npos; };
    pid_t listener = listen();
    const bool sent = wait_until(
        [&] {
          const int rc = run_logged(from.exec(
              {"sh", "-c", "echo " + text + " | timeout 3 busybox nc " + address + " 7000"}));
          if (rc == 0 && wait_until(arrived, 2s)) return true;
          if (listener > 0 && ::waitpid(listener, nullptr, WNOHANG) == listener) {
            listener = listen();
          }
          return false;
        },
        8s);
    if (listener > 0) {
      ::kill(listener, SIGTERM);
      wait_for(listener);
    }
    return sent;
  }

  std::optional<Ns> host, local, remote;
  testing::TempDir dir;
  pid_t server_pid = -1;
  int runs = 0;
};

TEST_F(VpnJoinNetns, RemoteVmJoinsFromItsContextAloneAndASecondRunChangesNothing) {
  vpn({"init", "--network-cidr", "192.168.77.0/24", "--gateway", "192.168.77.1", "--bridge", "br0",
       "--listen", "198.51.100.1:1194"});
  vpn({"issue", "vm-remote", "--ip", "192.168.77.50"});
  const auto profile = testing::read_text(dir.path() / "vpn/clients/vm-remote.ovpn");
  ASSERT_FALSE(profile.empty());
  server_pid =
      spawn_logged(host->exec({"openvpn", "--config", (dir.path() / "vpn/server.conf").string()}),
                   (dir.path() / "server.log").string());
  ASSERT_TRUE(wait_until(
      [&] {
        return log("server.log").find("Initialization Sequence Completed") != std::string::npos;
      },
      10s))
      << logs();

  const auto iso = testing::make_iso(
      dir, {{"context.sh",
             "VMID='vm-remote'\nETH0_MAC='02:00:c6:33:64:02'\nETH0_IP='198.51.100.2'\n"
             "ETH0_MASK='255.255.255.252'\nVPN_PROFILE_BASE64='" +
                 core::base64_encode(profile) + "'\n"}});
  std::string out;
  ASSERT_EQ(agent("local", iso, out), 0) << logs();
  EXPECT_THAT(out, HasSubstr("addr add 198.51.100.2/30 dev wan0"));
  ASSERT_EQ(agent("final", iso, out), 0) << logs();
  EXPECT_THAT(out, HasSubstr("installed profile from context VPN_PROFILE_BASE64"));
  EXPECT_THAT(out, HasSubstr("started openvpn (supervisor"));
  EXPECT_THAT(out, HasSubstr("tunnel up: ctvpn0 192.168.77.50/24")) << logs();
  const auto pid_before = testing::read_text(root() / "run/cloudtwin/vpn-client.pid");

  EXPECT_TRUE(ping(*remote, "192.168.77.10")) << "remote -> local VM\n" << logs();
  EXPECT_TRUE(ping(*local, "192.168.77.50")) << "local VM -> remote\n" << logs();
  EXPECT_TRUE(tcp(*remote, *local, "192.168.77.10", "from-remote")) << logs();
  EXPECT_TRUE(tcp(*local, *remote, "192.168.77.50", "from-local")) << logs();

  // A reboot-like second run: same context, nothing installed, started or added.
  ASSERT_EQ(agent("local", iso, out), 0) << logs();
  EXPECT_THAT(out, HasSubstr("already configured"));
  ASSERT_EQ(agent("final", iso, out), 0) << logs();
  EXPECT_THAT(out, HasSubstr("already installed"));
  EXPECT_THAT(out, HasSubstr("openvpn already running (supervisor"));
  EXPECT_THAT(out, HasSubstr("tunnel up: ctvpn0 192.168.77.50/24"));
  EXPECT_THAT(out, Not(HasSubstr("started openvpn")));
  EXPECT_EQ(testing::read_text(root() / "run/cloudtwin/vpn-client.pid"), pid_before);
  const auto status = testing::read_text(root() / "var/lib/cloudtwin-agent/status.json");
  EXPECT_THAT(status, HasSubstr("\"state\": \"up\""));
  EXPECT_THAT(status, HasSubstr("\"interface\": \"ctvpn0\""));
}

TEST_F(VpnJoinNetns, UnreachableServerLeavesTheRestDoneAndTheSupervisorRetrying) {
  vpn({"init", "--network-cidr", "192.168.77.0/24", "--gateway", "192.168.77.1", "--bridge", "br0",
       "--listen", "198.51.100.1:1194"});
  vpn({"issue", "vm-remote", "--ip", "192.168.77.50"});
  const auto profile = testing::read_text(dir.path() / "vpn/clients/vm-remote.ovpn");
  // No server runs. --vpn-wait bounds how long `final` waits.
  const auto iso = testing::make_iso(
      dir, {{"context.sh",
             "VMID='vm-remote'\nSET_HOSTNAME='remote1'\nETH0_MAC='02:00:c6:33:64:02'\n"
             "ETH0_IP='198.51.100.2'\nETH0_MASK='255.255.255.252'\n"
             "VPN_PROFILE_BASE64='" +
                 core::base64_encode(profile) + "'\n"}});
  std::string out;
  ASSERT_EQ(agent("local", iso, out), 0) << logs();
  const auto start = std::chrono::steady_clock::now();
  const int rc = run_logged(
      remote->exec({CLOUDTWIN_AGENT_BIN, "final", "--root", root().string(), "--datasources",
                    "context", "--context-device", iso.string(), "--vpn-wait", "2"}),
      (dir.path() / "final.log").string());
  EXPECT_EQ(rc, 0) << log("final.log");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_THAT(log("final.log"), HasSubstr("openvpn keeps retrying"));
  EXPECT_EQ(testing::read_text(root() / "etc/hostname"), "remote1\n");
  EXPECT_THAT(testing::read_text(root() / "var/lib/cloudtwin-agent/status.json"),
              HasSubstr("\"state\": \"connecting\""));
}

TEST_F(VpnJoinNetns, RevokedVmCannotConnect) {
  vpn({"init", "--network-cidr", "192.168.77.0/24", "--gateway", "192.168.77.1", "--bridge", "br0",
       "--listen", "198.51.100.1:1194"});
  vpn({"issue", "vm-remote", "--ip", "192.168.77.50"});
  // The VM's context still carries the profile it was given before the revoke.
  const auto profile = testing::read_text(dir.path() / "vpn/clients/vm-remote.ovpn");
  ASSERT_FALSE(profile.empty());
  EXPECT_EQ(vpn({"revoke", "vm-remote"}), "revoked vm-remote\n");
  server_pid =
      spawn_logged(host->exec({"openvpn", "--config", (dir.path() / "vpn/server.conf").string()}),
                   (dir.path() / "server.log").string());
  ASSERT_TRUE(wait_until(
      [&] {
        return log("server.log").find("Initialization Sequence Completed") != std::string::npos;
      },
      10s))
      << logs();

  const auto iso = testing::make_iso(
      dir, {{"context.sh",
             "VMID='vm-remote'\nSET_HOSTNAME='remote1'\nETH0_MAC='02:00:c6:33:64:02'\n"
             "ETH0_IP='198.51.100.2'\nETH0_MASK='255.255.255.252'\nVPN_PROFILE_BASE64='" +
                 core::base64_encode(profile) + "'\n"}});
  std::string out;
  ASSERT_EQ(agent("local", iso, out), 0) << logs();
  const int rc = run_logged(
      remote->exec({CLOUDTWIN_AGENT_BIN, "final", "--root", root().string(), "--datasources",
                    "context", "--context-device", iso.string(), "--vpn-wait", "4"}),
      (dir.path() / "final.log").string());
  EXPECT_EQ(rc, 0) << log("final.log");  // the rest of contextualization still completes
  EXPECT_EQ(testing::read_text(root() / "etc/hostname"), "remote1\n");
  EXPECT_THAT(log("final.log"), Not(HasSubstr("tunnel up"))) << logs();
  EXPECT_THAT(testing::read_text(root() / "var/lib/cloudtwin-agent/status.json"),
              HasSubstr("\"state\": \"connecting\""));
  EXPECT_TRUE(wait_until(
      [&] {
        return log("server.log").find("VERIFY ERROR: depth=0, error=certificate revoked") !=
               std::string::npos;
      },
      15s))
      << logs();
  EXPECT_NE(run_logged(remote->exec({"busybox", "ping", "-c", "1", "-W", "1", "192.168.77.10"})),
            0);
}

}  // namespace
}  // namespace cloudtwin::agent
