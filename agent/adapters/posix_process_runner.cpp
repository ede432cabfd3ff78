// The only file of the agent that starts processes.
#include "cloudtwin/agent/adapters/posix_process_runner.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {

namespace {

constexpr const char* kPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

class PosixProcessRunner : public ProcessRunner {
 public:
  int run(const std::vector<std::string>& argv, const std::filesystem::path& log) override {
    if (argv.empty()) throw Error(ErrorCode::InvalidArgument, "empty command");
    std::filesystem::create_directories(log.parent_path());
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
      throw Error(ErrorCode::Io, "cannot open " + log.string() + ": " + std::strerror(errno));
    // Everything execve needs is built before fork: the child only calls async-signal-safe
    // functions.
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::string path_env = std::string("PATH=") + kPath;
    std::string home_env = "HOME=/root";
    char* env[] = {path_env.data(), home_env.data(), nullptr};
    std::vector<std::string> candidates;
    if (argv[0].find('/') != std::string::npos) {
      candidates.push_back(argv[0]);
    } else {
      std::string_view dirs = kPath;
      while (!dirs.empty()) {
        const auto colon = dirs.find(':');
        candidates.push_back(std::string(dirs.substr(0, colon)) + "/" + argv[0]);
        dirs.remove_prefix(colon == std::string_view::npos ? dirs.size() : colon + 1);
      }
    }
    int err_pipe[2];
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
      ::close(fd);
      throw Error(ErrorCode::System, std::string("pipe: ") + std::strerror(errno));
    }
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(err_pipe[0]);
      const int null = ::open("/dev/null", O_RDONLY);
      if (null >= 0) ::dup2(null, 0);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      int err = ENOENT;
      for (const auto& c : candidates) {
        ::execve(c.c_str(), args.data(), env);
        if (errno != ENOENT) err = errno;
      }
      (void)!::write(err_pipe[1], &err, sizeof err);
      ::_exit(127);
    }
    ::close(fd);
    ::close(err_pipe[1]);
    if (pid < 0) {
      ::close(err_pipe[0]);
      throw Error(ErrorCode::System, std::string("fork: ") + std::strerror(errno));
    }
    int exec_errno = 0;
    const auto n = ::read(err_pipe[0], &exec_errno, sizeof exec_errno);
    ::close(err_pipe[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (n == static_cast<ssize_t>(sizeof exec_errno)) {
      throw Error(ErrorCode::System,
                  "cannot execute '" + argv[0] + "': " + std::strerror(exec_errno));
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
  }
};

}  // namespace

std::unique_ptr<ProcessRunner> make_posix_process_runner() {
  return std::make_unique<PosixProcessRunner>();
}

}  // namespace cloudtwin::agent
