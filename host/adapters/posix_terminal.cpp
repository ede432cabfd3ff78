// Terminal over fds 0 and 1. The only file that touches termios.
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/console.hpp"

namespace cloudtwin::host {
namespace {

class PosixTerminal final : public Terminal {
 public:
  PosixTerminal() {
    if (::isatty(STDIN_FILENO) == 1 && ::tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios raw = saved_;
      ::cfmakeraw(&raw);
      raw_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
    }
  }
  ~PosixTerminal() override {
    if (raw_) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  PosixTerminal(const PosixTerminal&) = delete;
  PosixTerminal& operator=(const PosixTerminal&) = delete;

  std::optional<std::string> read(int timeout_ms) override {
    if (eof_) return std::nullopt;
    pollfd p{STDIN_FILENO, POLLIN, 0};
    const int ready = ::poll(&p, 1, timeout_ms);
    if (ready < 0 && errno != EINTR)
      throw Error(ErrorCode::Io, std::string("poll on stdin: ") + std::strerror(errno));
    if (ready <= 0) return std::string();
    char buf[4096];
    const auto n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return std::string();
    if (n <= 0) {
      eof_ = true;
      return std::nullopt;
    }
    return std::string(buf, static_cast<std::size_t>(n));
  }

  void write(std::string_view bytes) override {
    while (!bytes.empty()) {
      const auto n = ::write(STDOUT_FILENO, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        throw Error(ErrorCode::Io, std::string("write to stdout: ") + std::strerror(errno));
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

 private:
  termios saved_{};
  bool raw_ = false;
  bool eof_ = false;
};

}  // namespace

std::unique_ptr<Terminal> make_posix_terminal() { return std::make_unique<PosixTerminal>(); }

}  // namespace cloudtwin::host
