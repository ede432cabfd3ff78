// Real OpenVPN (Debian's 2.6) between network namespaces, driven by the configs that
// `cloudtwin vpn` generates. Namespaces:
//   host      LAN bridge br0 (192.168.77.1/24) + the OpenVPN server, whose tap joins br0;
//   local-vm  192.168.77.10 on a veth in br0;
//   remote-vm reaches host only over a veth standing for the internet (198.51.100.0/30).
// All traffic stays inside these namespaces; they and the processes are removed by RAII.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>
#include <sstream>
#include <thread>

#include "cloudtwin/vm/spawn.hpp"
#include "cloudtwin/vpn/cli.hpp"
#include "cloudtwin/vpn/files.hpp"
#include "cloudtwin/vpn/pki.hpp"
#include "cloudtwin/vpn/service.hpp"
#include "test_support.hpp"

namespace cloudtwin::vpn {
namespace {

using namespace std::chrono_literals;
using Netns = vm::NamedNetns;
using vm::run_logged;
using vm::spawn_logged;
using vm::wait_until;

// A child process stopped (TERM, then KILL) on destruction.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& log_path)
      : pid_(spawn_logged(argv, log_path)) {}
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { stop(); }
  bool started() const { return pid_ > 0; }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 50; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(100ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_;
};

std::string skip_reason() {
  if (::geteuid() != 0) return "needs root to create network namespaces";
  if (::access("/usr/sbin/openvpn", X_OK) != 0) return "/usr/sbin/openvpn is not installed";
  if (::access("/bin/busybox", X_OK) != 0) return "/bin/busybox is not installed (for ping)";
  if (::access("/dev/net/tun", R_OK | W_OK) != 0) return "/dev/net/tun is not available";
  if (run_logged({"ip", "-V"}) != 0) return "iproute2's ip is not on PATH";
  return "";
}

constexpr const char* kDone = "Initialization Sequence Completed";

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// `profile` with its <cert> and <key> replaced by a client certificate from another CA.
std::string with_foreign_cert(const std::string& profile) {
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  const auto other_ca = make_ca("some other CA", {now, 30});
  const auto other = make_client_cert(other_ca, "vm-foreign", {now, 30});
  auto text = profile;
  const auto swap = [&](const std::string& tag, const std::string& body) {
    const auto old = test::inline_block(text, tag);
    text.replace(text.find(old), old.size(), body);
  };
  swap("cert", other.cert_pem);
  swap("key", other.key_pem);
  return text;
}

// `profile` with its <cert> and <key> replaced by a certificate of the same CA (read from
// the state dir) that expired yesterday.
std::string with_expired_cert(const std::string& profile, const std::string& state) {
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  const CertAndKey ca{read_file(state + "/ca.crt"), read_file(state + "/ca.key"), ""};
  const auto expired = make_client_cert(ca, "vm-expired", {now - 3 * 86400, 2});
  auto text = profile;
  const auto swap = [&](const std::string& tag, const std::string& body) {
    const auto old = test::inline_block(text, tag);
    text.replace(text.find(old), old.size(), body);
  };
  swap("cert", expired.cert_pem);
  swap("key", expired.key_pem);
  return text;
}

class OpenVpnNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const auto reason = skip_reason(); !reason.empty()) GTEST_SKIP() << reason;
    const auto suffix = std::to_string(::getpid());
    host.emplace("ctvpn-host-" + suffix);
    local.emplace("ctvpn-local-" + suffix);
    remote.emplace("ctvpn-remote-" + suffix);
    ASSERT_TRUE(host->ok() && local->ok() && remote->ok()) << "ip netns add failed";
    const std::vector<std::vector<std::string>> host_cmds{
        {"link", "set", "lo", "up"},
        {"link", "add", "br0", "type", "bridge"},
        {"addr", "add", "192.168.77.1/24", "dev", "br0"},
        {"link", "set", "br0", "up"},
        {"link", "add", "wan0", "type", "veth", "peer", "name", "wan0", "netns", remote->name()},
        {"addr", "add", "198.51.100.1/30", "dev", "wan0"},
        {"link", "set", "wan0", "up"},
        {"link", "add", "vm0", "type", "veth", "peer", "name", "eth0", "netns", local->name()},
        {"link", "set", "vm0", "master", "br0", "up"},
    };
    for (const auto& c : host_cmds) {
      ASSERT_EQ(host->ip(c), 0) << c[0] << " " << c[1] << " " << c[2];
    }
    ASSERT_EQ(remote->ip({"link", "set", "lo", "up"}), 0);
    ASSERT_EQ(remote->ip({"addr", "add", "198.51.100.2/30", "dev", "wan0"}), 0);
    ASSERT_EQ(remote->ip({"link", "set", "wan0", "up"}), 0);
    ASSERT_EQ(local->ip({"addr", "add", "192.168.77.10/24", "dev", "eth0"}), 0);
    ASSERT_EQ(local->ip({"link", "set", "eth0", "up"}), 0);
  }

  std::string cli(std::vector<std::string> args) {
    args.push_back("--state-dir=" + state);
    std::ostringstream out, err;
    const int rc = run_cli(args, out, err);
    if (rc != 0) ADD_FAILURE() << args[0] << ": " << err.str();
    return out.str();
  }

  // run_cli in a child that has joined `ns`'s network namespace; its stderr goes to `log`.
  static int cli_in(const Netns& ns, const std::vector<std::string>& args, const std::string& log) {
    const pid_t pid = ::fork();
    if (pid < 0) return -1;
    if (pid == 0) {
      const int fd = ::open(("/run/netns/" + ns.name()).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) ::_exit(99);
      std::ostringstream out, err;
      const int rc = run_cli(args, out, err);
      write_file_atomic(log, out.str() + err.str(), 0644);
      ::_exit(rc);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  static bool ping_once(const Netns& from, const std::string& to) {
    return run_logged(from.exec({"busybox", "ping", "-c", "1", "-W", "1", to})) == 0;
  }
  static bool ping(const Netns& from, const std::string& to) {
    return wait_until([&] { return ping_once(from, to); }, 5s);
  }

  std::string log(const std::string& name) const {
    return read_file_if_exists(dir.path() + "/" + name).value_or("");
  }
  std::string logs() const {
    std::string text;
    for (const auto* name : {"server.log", "client.log", "foreign.log", "expired.log"}) {
      text += std::string("==== ") + name + "\n" + log(name);
    }
    return text;
  }

  // Declared first so that they are destroyed last, after the processes in the test body.
  std::optional<Netns> host;
  std::optional<Netns> local;
  std::optional<Netns> remote;
  test::TempDir dir;
  std::string state = dir.path() + "/vpn";
};

TEST_F(OpenVpnNetns, RemoteVmJoinsLanAndRevokedVmIsCutAndRefused) {
  cli({"init", "--network-cidr", "192.168.77.0/24", "--gateway", "192.168.77.1", "--bridge", "br0",
       "--listen", "198.51.100.1:1194"});
  cli({"issue", "vm-remote", "--ip", "192.168.77.50"});
  const auto profile = dir.path() + "/vm-remote.ovpn";  // a copy survives the revoke
  std::filesystem::copy_file(state + "/clients/vm-remote.ovpn", profile);
  const auto foreign = dir.path() + "/foreign.ovpn";
  write_file_atomic(foreign, with_foreign_cert(read_file(profile)), 0600);

  Process server(host->exec({"openvpn", "--config", state + "/server.conf"}),
                 dir.path() + "/server.log");
  ASSERT_TRUE(server.started());
  ASSERT_TRUE(wait_until([&] { return count(log("server.log"), kDone) == 1; }, 10s)) << logs();

  // A certificate from another CA (with the right tls-crypt key) fails verification.
  {
    Process client(remote->exec({"openvpn", "--config", foreign}), dir.path() + "/foreign.log");
    EXPECT_TRUE(wait_until(
        [&] { return count(log("server.log"), "unable to get local issuer certificate") > 0; },
        15s))
        << logs();
    EXPECT_EQ(count(log("foreign.log"), kDone), 0) << logs();
  }

  // A certificate of the right CA that has expired fails verification too.
  {
    const auto expired = dir.path() + "/expired.ovpn";
    write_file_atomic(expired, with_expired_cert(read_file(profile), state), 0600);
    Process client(remote->exec({"openvpn", "--config", expired}), dir.path() + "/expired.log");
    EXPECT_TRUE(wait_until(
        [&] { return count(log("server.log"), "error=certificate has expired") > 0; }, 15s))
        << logs();
    EXPECT_EQ(count(log("expired.log"), kDone), 0) << logs();
  }

  Process client(remote->exec({"openvpn", "--config", profile}), dir.path() + "/client.log");
  ASSERT_TRUE(wait_until([&] { return count(log("client.log"), kDone) == 1; }, 15s)) << logs();
  EXPECT_TRUE(ping(*remote, "192.168.77.1")) << "remote -> LAN gateway\n" << logs();
  EXPECT_TRUE(ping(*remote, "192.168.77.10")) << "remote -> local VM\n" << logs();
  EXPECT_TRUE(ping(*local, "192.168.77.50")) << "local VM -> remote\n" << logs();
  // OpenVPN rewrites its status file every 10 s.
  EXPECT_TRUE(wait_until(
      [&] {
        const auto entries = list(state);
        return entries.size() == 1 && entries[0].connection &&
               entries[0].connection->real_address.rfind("198.51.100.2:", 0) == 0;
      },
      15s))
      << read_file_if_exists(state + "/openvpn-status.log").value_or("(no status file)");

  // Revoked while connected: the session is dropped and the client's reconnect refused.
  EXPECT_EQ(cli({"revoke", "vm-remote"}), "revoked vm-remote; its open session was dropped\n");
  EXPECT_TRUE(wait_until([&] { return count(log("server.log"), "certificate revoked") > 0; }, 15s))
      << logs();
  EXPECT_TRUE(wait_until([&] { return !ping_once(*remote, "192.168.77.1"); }, 5s)) << logs();
  EXPECT_EQ(count(log("client.log"), kDone), 1) << logs();
}

// A second server on the same port: `vpn init` refuses the port up front (in the namespace
// the CLI runs in), and openvpn itself, started anyway, exits naming the port.
TEST_F(OpenVpnNetns, PortAlreadyInUse) {
  cli({"init", "--network-cidr", "192.168.77.0/24", "--gateway", "192.168.77.1", "--bridge", "br0",
       "--listen", "198.51.100.1:1194"});
  Process server(host->exec({"openvpn", "--config", state + "/server.conf"}),
                 dir.path() + "/server.log");
  ASSERT_TRUE(wait_until([&] { return count(log("server.log"), kDone) == 1; }, 10s)) << logs();

  // init for a second VPN on the taken port, run inside the host namespace.
  const auto second = dir.path() + "/vpn2";
  const int rc = cli_in(*host,
                        {"init", "--network-cidr", "192.168.78.0/24", "--gateway", "192.168.78.1",
                         "--bridge", "br1", "--listen", "198.51.100.1:1194", "--state-dir", second},
                        dir.path() + "/init2.log");
  EXPECT_EQ(rc, 1) << log("init2.log");
  EXPECT_NE(log("init2.log").find("UDP port 1194 is already in use on this host"),
            std::string::npos)
      << log("init2.log");
  EXPECT_FALSE(file_exists(second + "/settings"));

  // A second server on the same port (its own tap and management socket, as a second
  // network's would have): openvpn exits and says why.
  auto conf = read_file(state + "/server.conf");
  for (const auto& [from, to] :
       {std::pair<std::string, std::string>{"dev tap-ct1194", "dev tap-second"},
        {"management.sock", "management2.sock"},
        {"openvpn-status.log", "openvpn-status2.log"}}) {
    ASSERT_NE(conf.find(from), std::string::npos) << from;
    conf.replace(conf.find(from), from.size(), to);
  }
  write_file_atomic(dir.path() + "/server2.conf", conf, 0644);
  const int second_rc =
      run_logged(host->exec({"openvpn", "--config", dir.path() + "/server2.conf"}),
                 dir.path() + "/server2.log");
  EXPECT_NE(second_rc, 0);
  EXPECT_NE(log("server2.log").find("Address already in use"), std::string::npos)
      << log("server2.log");
}

}  // namespace
}  // namespace cloudtwin::vpn
