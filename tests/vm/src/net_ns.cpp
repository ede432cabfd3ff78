#include "cloudtwin/vm/net_ns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <exception>
#include <filesystem>
#include <system_error>

namespace cloudtwin::vm {
namespace {
std::atomic<int> g_counter{0};

// Namespaces live as files in /run/netns; "<prefix>-<pid>-<n>" with no /proc/<pid> is stale.
void remove_stale(std::string_view prefix) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    const auto name = entry.path().filename().string();
    if (name.size() <= prefix.size() + 1 || name.compare(0, prefix.size(), prefix) != 0 ||
        name[prefix.size()] != '-') {
      continue;
    }
    const auto rest = name.substr(prefix.size() + 1);
    const auto dash = rest.find('-');
    const auto pid = rest.substr(0, dash);
    if (dash == std::string::npos || pid.empty() ||
        pid.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    if (!std::filesystem::exists("/proc/" + pid, ec)) run_command({"ip", "netns", "del", name});
  }
}

}  // namespace

NetNs::NetNs(std::string_view prefix)
    : name_(std::string(prefix) + "-" + std::to_string(getpid()) + "-" +
            std::to_string(g_counter++)) {
  remove_stale(prefix);
  run_checked({"ip", "netns", "add", name_});
  try {
    ip({"link", "set", "lo", "up"});
  } catch (...) {
    run_command({"ip", "netns", "del", name_});
    throw;
  }
}

NetNs::~NetNs() { run_command({"ip", "netns", "del", name_}); }

void NetNs::ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"ip", "-n", name_};
  argv.insert(argv.end(), args.begin(), args.end());
  run_checked(argv);
}

void NetNs::add_bridge(const std::string& bridge, const std::string& cidr) {
  ip({"link", "add", bridge, "type", "bridge"});
  ip({"addr", "add", cidr, "dev", bridge});
  ip({"link", "set", bridge, "up"});
}

void NetNs::add_address(const std::string& link, const std::string& cidr) {
  ip({"addr", "add", cidr, "dev", link});
}

void NetNs::add_tap(const std::string& tap, const std::string& bridge) {
  ip({"tuntap", "add", "dev", tap, "mode", "tap"});
  ip({"link", "set", tap, "master", bridge, "up"});
}

std::vector<std::string> NetNs::wrap(const std::vector<std::string>& argv) const {
  std::vector<std::string> out{"ip", "netns", "exec", name_};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

CommandResult NetNs::exec(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout) const {
  return run_command(wrap(argv), timeout);
}

std::string run_in_netns(const std::string& name, const std::function<std::string()>& f) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return "EXCEPTION: pipe failed";
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return "EXCEPTION: fork failed";
  }
  if (pid == 0) {
    ::close(fds[0]);
    std::string out;
    const int ns = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) {
      out = "EXCEPTION: cannot join namespace " + name;  // and touch nothing
    } else {
      try {
        out = f();
      } catch (const std::exception& e) {
        out = std::string("EXCEPTION: ") + e.what();
      }
    }
    const char* p = out.data();
    std::size_t left = out.size();
    while (left > 0) {
      const auto n = ::write(fds[1], p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return out;
}

}  // namespace cloudtwin::vm
