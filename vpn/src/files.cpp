#include "cloudtwin/vpn/files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::vpn {

namespace {

[[noreturn]] void io_fail(const std::string& what, const std::string& path, int err) {
  throw Error(ErrorCode::Io, what + " " + path + ": " + std::strerror(err));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string dir_of(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& content, mode_t mode) {
  // Unique per process and per call: two threads writing one path must not share a temp.
  static std::atomic<unsigned> counter{0};
  const std::string temp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (fd.get() < 0) io_fail("cannot create", temp, errno);
  try {
    // The umask may have narrowed the mode, and a leftover temp file kept its old mode.
    if (::fchmod(fd.get(), mode) != 0) io_fail("cannot chmod", temp, errno);
    std::size_t done = 0;
    while (done < content.size()) {
      const auto n = ::write(fd.get(), content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) io_fail("cannot write", temp, errno);
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) io_fail("cannot fsync", temp, errno);
    if (::close(fd.release()) != 0) io_fail("cannot close", temp, errno);
    if (::rename(temp.c_str(), path.c_str()) != 0) io_fail("cannot rename to", path, errno);
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  const auto dir = dir_of(path);
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || ::fsync(dir_fd.get()) != 0) io_fail("cannot fsync directory", dir, errno);
}

std::optional<std::string> read_file_if_exists(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    io_fail("cannot open", path, errno);
  }
  std::string out;
  char buf[8192];
  while (true) {
    const auto n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) io_fail("cannot read", path, errno);
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string read_file(const std::string& path) {
  auto text = read_file_if_exists(path);
  if (!text) throw Error(ErrorCode::NotFound, "missing file " + path);
  return *text;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void make_dir(const std::string& path, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw Error(ErrorCode::Io, "cannot create directory " + path + ": " + ec.message());
  if (::chmod(path.c_str(), mode) != 0) io_fail("cannot chmod", path, errno);
}

void remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) io_fail("cannot remove", path, errno);
}

FileLock::FileLock(const std::string& path, std::chrono::milliseconds timeout) {
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) io_fail("cannot open lock file", path, errno);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) io_fail("cannot lock", path, errno);
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(ErrorCode::Io, "another `cloudtwin vpn` command has held the lock " + path +
                                     " for " + std::to_string(timeout.count() / 1000) +
                                     " s; try again when it has finished");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  fd_ = fd.release();
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last fd of the description releases the flock
}

}  // namespace cloudtwin::vpn
