#pragma once
// Background processes and named network namespaces for the netns-labelled tests that run
// real daemons (openvpn, busybox nc) between namespaces (vpn/ and agent/ tests). Test
// scaffolding: argv vectors, no shell.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace cloudtwin::vm {

// Starts argv[0] (searched in PATH) with stdout and stderr appended to `log` (created 0600;
// "" = /dev/null). -1 when it cannot be started.
pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log = "");
// Waits for pid: its exit status, or -1 (killed by a signal, or pid < 0).
int wait_for(pid_t pid);
// spawn_logged + wait_for.
int run_logged(const std::vector<std::string>& argv, const std::string& log = "");
// Polls `done` every 100 ms until it is true or `timeout` passed; its last answer.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);

// A namespace with exactly this name (`ip netns add`), deleted on destruction when it was
// made. NetNs (net_ns.hpp) picks unique names and throws; this one reports ok().
class NamedNetns {
 public:
  explicit NamedNetns(std::string name);
  NamedNetns(const NamedNetns&) = delete;
  NamedNetns& operator=(const NamedNetns&) = delete;
  ~NamedNetns();
  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }
  // `ip -n NAME args...`: its exit status.
  int ip(std::vector<std::string> args) const;
  // args prefixed with `ip netns exec NAME`.
  std::vector<std::string> exec(std::vector<std::string> args) const;

 private:
  std::string name_;
  bool ok_ = false;
};

}  // namespace cloudtwin::vm
