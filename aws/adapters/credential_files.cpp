#include "cloudtwin/aws/adapters/credential_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::aws {

namespace {
constexpr off_t kMaxSize = 1024 * 1024;  // a credentials file is a few hundred bytes
}

std::optional<ConfigFile> LocalConfigFiles::read(const std::string& path) const {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throw Error(ErrorCode::Io, "cannot read " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > kMaxSize) {
    ::close(fd);
    throw Error(ErrorCode::Io, path + " is not a regular file of at most 1 MiB");
  }
  ConfigFile out;
  out.mode = static_cast<unsigned>(st.st_mode) & 07777U;
  out.text.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.text.size()) {
    const auto n = ::read(fd, out.text.data() + done, out.text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.text.resize(done);
  return out;
}

Environment process_environment() {
  static constexpr const char* kNames[] = {"HOME",
                                           "AWS_ACCESS_KEY_ID",
                                           "AWS_SECRET_ACCESS_KEY",
                                           "AWS_SESSION_TOKEN",
                                           "AWS_PROFILE",
                                           "AWS_SHARED_CREDENTIALS_FILE",
                                           "AWS_CONFIG_FILE",
                                           "AWS_REGION",
                                           "AWS_DEFAULT_REGION"};
  Environment out;
  for (const char* name : kNames) {
    if (const char* value = std::getenv(name)) out[name] = value;
  }
  return out;
}

}  // namespace cloudtwin::aws
