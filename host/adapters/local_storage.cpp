// Storage on the local file system; overlays through `qemu-img create` run with
// posix_spawnp and an argument vector (never a shell).
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/adapters.hpp"
#include "process.hpp"

namespace cloudtwin::host {
namespace {

std::string errno_text() { return std::strerror(errno); }

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
        run_process({qemu_img_, "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, path});
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
  std::vector<std::string> list_files(const std::string& dir) override {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) throw Error(ErrorCode::Io, "cannot list " + dir + ": " + errno_text());
    std::vector<std::string> out;
    while (const dirent* e = ::readdir(d.get())) {
      const std::string name = e->d_name;
      struct stat st {};
      if (name.front() == '.' || ::stat((dir + "/" + name).c_str(), &st) != 0) continue;
      if (S_ISREG(st.st_mode)) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  void rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      throw Error(ErrorCode::Io, "cannot rename " + from + " to " + to + ": " + errno_text());
    }
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
