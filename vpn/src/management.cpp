#include "cloudtwin/vpn/management.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/vpn/state_text.hpp"

namespace cloudtwin::vpn {

namespace {

// One management session: commands out, lines back, all within one deadline.
class Session {
 public:
  Session(std::string path, std::chrono::milliseconds timeout)
      : path_(std::move(path)),
        fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)),
        deadline_(std::chrono::steady_clock::now() + timeout) {
    if (fd_ < 0) fail(std::strerror(errno));
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() { ::close(fd_); }

  // False when nothing listens there (no socket file, or a stale one).
  bool connect() {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.size() >= sizeof addr.sun_path) fail("path too long");
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return true;
    if (errno == ENOENT || errno == ECONNREFUSED) return false;
    fail(std::strerror(errno));
  }

  void send(const std::string& line) const {
    const auto text = line + "\n";
    if (::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) < 0) fail(std::strerror(errno));
  }

  // The next line without its "\r\n"; skips OpenVPN's real-time ">..." notifications.
  std::string read_line() {
    while (true) {
      const auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        auto line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty() && line.front() == '>') continue;
        return line;
      }
      fill();
    }
  }

  // The answer to a one-line command: a line starting with SUCCESS: or ERROR:.
  std::string read_answer() {
    while (true) {
      auto line = read_line();
      if (line.rfind("SUCCESS:", 0) == 0 || line.rfind("ERROR:", 0) == 0) return line;
    }
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::Io, "OpenVPN management socket " + path_ + ": " + what);
  }

 private:
  void fill() {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline_ - std::chrono::steady_clock::now());
    if (left.count() <= 0) fail("no answer within the timeout");
    pollfd pfd{fd_, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) fail(std::strerror(errno));
    if (ready <= 0) return;
    char chunk[4096];
    const auto n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) return;
    if (n < 0) fail(std::strerror(errno));
    if (n == 0) fail("closed before answering");
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }

  std::string path_;
  int fd_;
  std::chrono::steady_clock::time_point deadline_;
  std::string buffer_;
};

}  // namespace

KillOutcome kill_client(const std::string& socket_path, const std::string& common_name,
                        std::chrono::milliseconds timeout) {
  Session session(socket_path, timeout);
  if (!session.connect()) return KillOutcome::NoServer;
  session.send("status 2");
  std::string status;
  for (auto line = session.read_line(); line != "END"; line = session.read_line()) {
    if (line.rfind("ERROR:", 0) == 0) session.fail("status 2 answered '" + line + "'");
    status += line + "\n";
  }
  int killed = 0;
  for (const auto& client : parse_status_v2(status)) {
    if (client.common_name != common_name || client.client_id < 0) continue;
    session.send("client-kill " + std::to_string(client.client_id));
    const auto answer = session.read_answer();
    // ERROR here means the session ended between the two commands: nothing left to end.
    if (answer.rfind("SUCCESS:", 0) == 0) ++killed;
  }
  session.send("quit");  // after the answers: OpenVPN drops unsent output on quit
  return killed > 0 ? KillOutcome::Killed : KillOutcome::NotConnected;
}

}  // namespace cloudtwin::vpn
