#include "cloudtwin/vm/spawn.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <thread>

extern char** environ;

namespace cloudtwin::vm {

pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log) {
  if (argv.empty()) return -1;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string out = log.empty() ? std::string("/dev/null") : log;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

int wait_for(pid_t pid) {
  if (pid < 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int run_logged(const std::vector<std::string>& argv, const std::string& log) {
  return wait_for(spawn_logged(argv, log));
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

NamedNetns::NamedNetns(std::string name) : name_(std::move(name)) {
  ok_ = run_logged({"ip", "netns", "add", name_}) == 0;
}

NamedNetns::~NamedNetns() {
  if (ok_) run_logged({"ip", "netns", "del", name_});
}

int NamedNetns::ip(std::vector<std::string> args) const {
  args.insert(args.begin(), {"ip", "-n", name_});
  return run_logged(args);
}

std::vector<std::string> NamedNetns::exec(std::vector<std::string> args) const {
  args.insert(args.begin(), {"ip", "netns", "exec", name_});
  return args;
}

}  // namespace cloudtwin::vm
