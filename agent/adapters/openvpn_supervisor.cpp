// The supervisor of openvpn: the only agent code that starts a daemon.
#include "cloudtwin/agent/adapters/openvpn_supervisor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "cloudtwin/agent/access.hpp"
#include "cloudtwin/agent/ec2.hpp"
#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kPathEnv =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr const char* kMarker = "vpn-supervise";

std::optional<int> live_supervisor(const fs::path& pidfile) {
  const auto text = read_or_empty(pidfile);
  int pid = 0;
  if (std::sscanf(text.c_str(), "%d", &pid) != 1 || pid <= 1) return std::nullopt;
  if (::kill(pid, 0) != 0 && errno != EPERM) return std::nullopt;
  // A stale pid file whose pid was reused by something else does not count.
  const auto cmdline = read_or_empty("/proc/" + std::to_string(pid) + "/cmdline");
  if (cmdline.find(kMarker) == std::string::npos) return std::nullopt;
  return pid;
}

void log_line(const std::string& text) {
  std::fprintf(stderr, "cloudtwin-agent vpn-supervise: %s\n", text.c_str());
  std::fflush(stderr);
}

class SupervisedOpenvpn : public TunnelService {
 public:
  explicit SupervisedOpenvpn(SupervisorOptions o) : o_(std::move(o)) {}

  std::string manager() const override { return "supervisor (log " + o_.log.string() + ")"; }
  std::optional<int> running() override { return live_supervisor(o_.pidfile); }

  void start() override {
    std::error_code ec;
    const auto self = fs::read_symlink("/proc/self/exe", ec);
    if (ec)
      throw Error(ErrorCode::System, "cannot find the agent's own executable: " + ec.message());
    fs::create_directories(o_.log.parent_path());
    fs::create_directories(o_.pidfile.parent_path());
    // Everything the children need is built before fork.
    std::vector<std::string> argv{self.string(), kMarker, "--root", o_.root.string()};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::string path_env = kPathEnv;
    char* env[] = {path_env.data(), nullptr};
    const int log = ::open(o_.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log < 0)
      throw Error(ErrorCode::Io, "cannot open " + o_.log.string() + ": " + std::strerror(errno));
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setsid();
      if (::fork() != 0) ::_exit(0);  // the grandchild is reparented to init
      const int null = ::open("/dev/null", O_RDONLY);
      ::dup2(null, 0);
      ::dup2(log, 1);
      ::dup2(log, 2);
      ::close_range(3, ~0U, 0);
      ::execve(args[0], args.data(), env);
      ::_exit(127);
    }
    ::close(log);
    if (pid < 0) throw Error(ErrorCode::System, std::string("fork: ") + std::strerror(errno));
    ::waitpid(pid, nullptr, 0);
    for (int i = 0; i < 30 && !running(); ++i) std::this_thread::sleep_for(100ms);
    if (!running())
      throw Error(ErrorCode::System,
                  "the openvpn supervisor did not start (see " + o_.log.string() + ")");
  }

  void reload() override {
    if (const auto pid = running()) ::kill(*pid, SIGHUP);
  }

 private:
  SupervisorOptions o_;
};

pid_t spawn_openvpn(const SupervisorOptions& o, const sigset_t& old_mask) {
  std::vector<std::string> argv{o.openvpn, "--config", o.config.string()};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::string path_env = kPathEnv;
  char* env[] = {path_env.data(), nullptr};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    if (::chdir("/") != 0) ::_exit(127);
    ::execve(args[0], args.data(), env);
    ::_exit(127);
  }
  return pid;
}

void stop_child(pid_t child) {
  ::kill(child, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    if (::waitpid(child, nullptr, WNOHANG) == child) return;
    std::this_thread::sleep_for(100ms);
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace

SupervisorOptions supervisor_options(const fs::path& root) {
  SupervisorOptions o;
  o.root = root;
  o.config = under_root(root, kVpnProfilePath);
  o.pidfile = under_root(root, "/run/cloudtwin/vpn-client.pid");
  o.log = under_root(root, "/var/log/cloudtwin/vpn-client.log");
  return o;
}

std::unique_ptr<TunnelService> make_supervised_openvpn(SupervisorOptions options) {
  return std::make_unique<SupervisedOpenvpn>(std::move(options));
}

int run_openvpn_supervisor(const SupervisorOptions& o) {
  sigset_t set, old;
  sigemptyset(&set);
  for (const int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, &old);
  fs::create_directories(o.pidfile.parent_path());
  write_file_atomic(o.pidfile, std::to_string(::getpid()) + "\n", 0644);
  int attempt = 0;
  for (;;) {
    const auto started = std::chrono::steady_clock::now();
    const pid_t child = spawn_openvpn(o, old);
    if (child < 0) log_line(std::string("fork: ") + std::strerror(errno));
    log_line("started " + o.openvpn + " --config " + o.config.string() + " (pid " +
             std::to_string(child) + ")");
    int status = 0;
    while (child > 0) {
      siginfo_t info{};
      const int sig = ::sigwaitinfo(&set, &info);
      if (sig == SIGCHLD && ::waitpid(child, &status, WNOHANG) == child) break;
      if (sig == SIGHUP) ::kill(child, SIGHUP);
      if (sig == SIGTERM || sig == SIGINT) {
        stop_child(child);
        ::unlink(o.pidfile.c_str());
        log_line("stopped");
        return 0;
      }
    }
    if (std::chrono::steady_clock::now() - started > 60s) attempt = 0;
    const auto delay = backoff_delay(++attempt, 1000ms, 60000ms);
    log_line("openvpn ended (" + describe(status) + "); restarting in " +
             std::to_string(delay.count()) + " ms");
    timespec ts{static_cast<time_t>(delay.count() / 1000),
                static_cast<long>(delay.count() % 1000) * 1000000L};
    siginfo_t info{};
    for (int sig = 0; (sig = ::sigtimedwait(&set, &info, &ts)) > 0;) {
      if (sig == SIGTERM || sig == SIGINT) {
        ::unlink(o.pidfile.c_str());
        log_line("stopped");
        return 0;
      }
    }
  }
}

}  // namespace cloudtwin::agent
