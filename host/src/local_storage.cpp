// Storage on the local file system; overlays through `qemu-img create` run with
// posix_spawnp and an argument vector (never a shell).
#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/adapters.hpp"

extern char** environ;

namespace cloudtwin::host {
namespace {

std::string errno_text() { return std::strerror(errno); }

// Runs argv, returns the exit status (or throws when it cannot be started).
int run(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
  if (rc != 0) throw Error(ErrorCode::System, "cannot run " + args[0] + ": " + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error(ErrorCode::System, "waitpid " + args[0] + ": " + errno_text());
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class LocalStorage final : public Storage {
 public:
  explicit LocalStorage(std::string qemu_img) : qemu_img_(std::move(qemu_img)) {}

  void create_dir(const std::string& path) override {
    // 0711: qemu (running as libvirt-qemu) must traverse it to reach files that libvirt
    // chowns to it at start; nobody else may list it.
    if (::mkdir(path.c_str(), 0711) != 0) {
      throw Error(ErrorCode::Io, "cannot create directory " + path + ": " + errno_text());
    }
  }
  void remove_dir(const std::string& path) override {
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) {
      throw Error(ErrorCode::Io, "cannot remove directory " + path + ": " + errno_text());
    }
  }
  void create_overlay(const std::string& base, const std::string& path) override {
    if (!exists(base))
      throw Error(ErrorCode::NotFound,
                  "base image " + base + " does not exist (put qcow2 images in [storage] images)");
    // Base images are qcow2; -F says so, so qemu never probes the backing file's format.
    const int status =
        run({qemu_img_, "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, path});
    if (status != 0) {
      ::unlink(path.c_str());
      throw Error(ErrorCode::Io, "qemu-img create of overlay " + path + " on " + base +
                                     " failed with status " + std::to_string(status));
    }
    // Only root (and qemu, once libvirt chowns it at start) may read the VM's disk.
    if (::chmod(path.c_str(), 0600) != 0) {
      throw Error(ErrorCode::Io, "cannot chmod " + path + ": " + errno_text());
    }
  }
  void remove_file(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      throw Error(ErrorCode::Io, "cannot remove " + path + ": " + errno_text());
    }
  }
  bool exists(const std::string& path) override {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
  }
  std::shared_ptr<void> lock(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      throw Error(ErrorCode::Io,
                  "cannot open lock file " + path + ": " + errno_text() +
                      " (does the instances directory exist? see [storage] in host.conf)");
    }
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        const auto why = errno_text();
        ::close(fd);
        throw Error(ErrorCode::Io, "cannot lock " + path + ": " + why);
      }
    }
    return std::shared_ptr<void>(new int(fd), [](void* p) {
      auto* held = static_cast<int*>(p);
      ::close(*held);  // releases the flock
      delete held;
    });
  }

 private:
  std::string qemu_img_;
};

}  // namespace

std::unique_ptr<Storage> make_local_storage(std::string qemu_img) {
  return std::make_unique<LocalStorage>(std::move(qemu_img));
}

}  // namespace cloudtwin::host
