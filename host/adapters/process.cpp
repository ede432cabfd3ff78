#include "process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cloudtwin/core/error.hpp"

extern char** environ;

namespace cloudtwin::host {
namespace {

class Actions {
 public:
  Actions() { posix_spawn_file_actions_init(&a_); }
  ~Actions() { posix_spawn_file_actions_destroy(&a_); }
  Actions(const Actions&) = delete;
  Actions& operator=(const Actions&) = delete;
  posix_spawn_file_actions_t* get() { return &a_; }

 private:
  posix_spawn_file_actions_t a_{};
};

int wait_for(pid_t pid, const std::string& name) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      throw Error(ErrorCode::System, "waitpid " + name + ": " + std::strerror(errno));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

int run_process(const std::vector<std::string>& args,
                const std::function<void(std::string_view)>& on_stdout) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int pipe_fds[2] = {-1, -1};
  Actions actions;
  if (on_stdout) {
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
      throw Error(ErrorCode::System, std::string("pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_adddup2(actions.get(), pipe_fds[1], STDOUT_FILENO);
  }
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], on_stdout ? actions.get() : nullptr, nullptr,
                              argv.data(), environ);
  if (on_stdout) ::close(pipe_fds[1]);
  if (rc != 0) {
    if (on_stdout) ::close(pipe_fds[0]);
    throw Error(ErrorCode::System, "cannot run " + args[0] + ": " + std::strerror(rc));
  }
  if (on_stdout) {
    char buf[4096];
    for (;;) {
      const auto n = ::read(pipe_fds[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      try {
        on_stdout(std::string_view(buf, static_cast<std::size_t>(n)));
      } catch (...) {  // keep reading so the child is not left blocked on a full pipe
      }
    }
    ::close(pipe_fds[0]);
  }
  return wait_for(pid, args[0]);
}

}  // namespace cloudtwin::host
