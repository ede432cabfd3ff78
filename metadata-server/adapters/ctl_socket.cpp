// Adapter: the ctl unix socket (server and client), plain POSIX.
#include "cloudtwin/metadata/ctl_socket.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ostream>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::metadata {

namespace {

constexpr std::size_t kMaxRequest = 64 * 1024;

[[noreturn]] void fail(const std::string& what) {
  throw Error(ErrorCode::Io, what + ": " + std::strerror(errno));
}

sockaddr_un address_of(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof a.sun_path) {
    throw Error(ErrorCode::InvalidArgument, "ctl socket path '" + path +
                                                "' is empty or longer than " +
                                                std::to_string(sizeof a.sun_path - 1) + " bytes");
  }
  std::memcpy(a.sun_path, path.data(), path.size());
  return a;
}

bool write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const auto n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads until EOF (or the limit / a 5 s silence); false on error or overflow.
bool read_all(int fd, std::string& out) {
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return false;
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > kMaxRequest) return false;
  }
}

}  // namespace

CtlServer::CtlServer(std::string path, Execute execute, LogSink log)
    : path_(std::move(path)), execute_(std::move(execute)), log_(std::move(log)) {
  const auto addr = address_of(path_);
  std::error_code ec;
  const auto dir = std::filesystem::path(path_).parent_path();
  if (!dir.empty() && std::filesystem::create_directories(dir, ec)) {
    std::filesystem::permissions(dir, std::filesystem::perms(0755), ec);
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) fail("ctl socket");
  ::unlink(path_.c_str());  // a socket left by a previous run
  // The file is created by bind() with the umask: make it 0600 from the first moment.
  const auto old_mask = ::umask(0177);
  const int rc = ::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  ::umask(old_mask);
  if (rc != 0 || ::listen(listen_fd_, 16) != 0) {
    const int saved = errno;
    ::close(listen_fd_);
    errno = saved;
    fail("cannot listen on ctl socket " + path_);
  }
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (stop_fd_ < 0) fail("eventfd");
  thread_ = std::thread([this] {
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (;;) {
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
      if (fds[0].revents & POLLIN) break;
      if (!(fds[1].revents & POLLIN)) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      serve_one(fd);  // one at a time: commands take microseconds
      ::close(fd);
    }
  });
}

CtlServer::~CtlServer() {
  const std::uint64_t one = 1;
  if (::write(stop_fd_, &one, sizeof one) < 0) {  // cannot happen for an eventfd
  }
  if (thread_.joinable()) thread_.join();
  ::close(stop_fd_);
  ::close(listen_fd_);
  ::unlink(path_.c_str());
}

void CtlServer::serve_one(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != ::geteuid()) {
    log_("ctl: refused a client with uid " + std::to_string(cred.uid));
    write_all(fd, "1\npermission denied: ctl is for the daemon's own user (root)\n");
    return;
  }
  std::string request;
  if (!read_all(fd, request)) {
    write_all(fd, "1\nmalformed or oversized ctl request\n");
    return;
  }
  std::vector<std::string> args;
  std::size_t start = 0;
  while (start < request.size()) {
    const auto nul = request.find('\0', start);
    if (nul == std::string::npos) break;  // an unterminated tail is ignored
    args.push_back(request.substr(start, nul - start));
    start = nul + 1;
  }
  try {
    const auto reply = execute_(args);
    std::string line;
    for (const auto& a : args) line += (line.empty() ? "" : " ") + a;
    log_("ctl: " + line);
    write_all(fd, "0\n" + reply);
  } catch (const std::exception& e) {
    write_all(fd, std::string("1\n") + e.what() + "\n");
  }
}

int run_ctl_client(const std::string& socket_path, const std::vector<std::string>& args,
                   std::ostream& out, std::ostream& err) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err << "cloudtwin-metadata ctl: socket: " << std::strerror(errno) << "\n";
    return 1;
  }
  std::string request;
  for (const auto& a : args) request += a + '\0';
  std::string reply;
  bool ok = false;
  try {
    const auto addr = address_of(socket_path);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      err << "cloudtwin-metadata ctl: cannot reach the daemon at " << socket_path << ": "
          << std::strerror(errno) << " (is cloudtwin-metadata running? are you root?)\n";
      ::close(fd);
      return 1;
    }
    ok = write_all(fd, request) && ::shutdown(fd, SHUT_WR) == 0 && read_all(fd, reply);
  } catch (const Error& e) {
    err << "cloudtwin-metadata ctl: " << e.what() << "\n";
  }
  ::close(fd);
  if (!ok || reply.size() < 2 || reply[1] != '\n') {
    if (ok) err << "cloudtwin-metadata ctl: malformed reply from " << socket_path << "\n";
    return 1;
  }
  (reply[0] == '0' ? out : err) << (reply[0] == '0' ? "" : "cloudtwin-metadata ctl: ")
                                << reply.substr(2);
  return reply[0] == '0' ? 0 : 1;
}

}  // namespace cloudtwin::metadata
