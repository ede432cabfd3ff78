// Adapter: reads instance records from a directory, rescanned on inotify events.
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/metadata/instance_store.hpp"

namespace cloudtwin::metadata {

namespace fs = std::filesystem;

namespace {

// A record bigger than this is refused unread (user-data is capped at 16 KiB by EC2;
// the rest of a record is small).
constexpr off_t kMaxRecordBytes = 1024 * 1024;

// The text of one record file. The directory is writable by whoever makes records, so a
// record is read only when it is a regular file itself (never through a symlink: `x.json
// -> /etc/shadow`), of bounded size; errors name the file, never its content.
std::string read_record_file(const fs::path& path) {
  const auto fail = [&](const std::string& why) {
    return Error(ErrorCode::Io, path.string() + ": " + why);
  };
  // O_NONBLOCK: opening a FIFO must not hang the scan.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    if (errno == ELOOP) throw fail("not a regular file (a symlink): skipped");
    throw fail(std::string("cannot be opened: ") + std::strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw fail(std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw fail("not a regular file: skipped");
  if (st.st_size > kMaxRecordBytes) {
    throw fail("larger than " + std::to_string(kMaxRecordBytes) + " bytes (" +
               std::to_string(st.st_size) + "): skipped");
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const auto n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw fail(std::string("cannot be read: ") + std::strerror(errno));
    if (n == 0) break;  // shrank while read: parsed as it is, rewritten files come back
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  return text;
}

}  // namespace

DirectoryInstanceStore::DirectoryInstanceStore(fs::path dir, const HostIdentity* host, LogSink log,
                                               std::chrono::milliseconds min_interval,
                                               record::MetadataOptions defaults)
    : dir_(std::move(dir)),
      host_(host),
      log_(std::move(log)),
      min_interval_(min_interval),
      defaults_(defaults),
      index_(std::make_shared<InstanceIndex>()) {}

std::shared_ptr<const ServedInstance> DirectoryInstanceStore::find(std::string_view listener,
                                                                   std::string_view address) {
  std::shared_ptr<const InstanceIndex> index;
  bool due = false;
  {
    const std::lock_guard lock(mutex_);
    if (min_interval_ != kNoRescanFromFind) {
      const auto now = std::chrono::steady_clock::now();
      due = !scanned_ || now - last_scan_ >= min_interval_;
      if (due) {
        last_scan_ = now;
        scanned_ = true;
      }
    }
    index = index_;
  }
  if (due) {
    {
      const std::lock_guard scan(scan_mutex_);
      rescan_locked();
    }
    const std::lock_guard lock(mutex_);
    index = index_;
  }
  return index->find(listener, address);
}

void DirectoryInstanceStore::reload() {
  {
    const std::lock_guard lock(mutex_);
    last_scan_ = std::chrono::steady_clock::now();
    scanned_ = true;
  }
  const std::lock_guard scan(scan_mutex_);
  rescan_locked();
}

DirectoryInstanceStore::~DirectoryInstanceStore() {
  if (watcher_.joinable()) {
    const std::uint64_t one = 1;
    if (::write(stop_fd_, &one, sizeof one) < 0) { /* the thread still ends at its timeout */
    }
    watcher_.join();
  }
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

void DirectoryInstanceStore::watch() {
  if (watcher_.joinable()) return;
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (stop_fd_ < 0) throw Error(ErrorCode::Io, std::string("eventfd: ") + std::strerror(errno));
  int fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd >= 0 && ::inotify_add_watch(fd, dir_.c_str(),
                                     IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                         IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
    ::close(fd);
    fd = -1;
  }
  if (fd < 0) {
    log_("cannot watch " + dir_.string() + " with inotify (" + std::strerror(errno) +
         "); rescanning it once a second");
  }
  watcher_ = std::thread([this, fd] {
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {fd, POLLIN, 0}};
    for (;;) {
      // With inotify, wake for events only (and a slow safety rescan); without, poll.
      const int n = ::poll(fds, fd >= 0 ? 2 : 1, fd >= 0 ? 60'000 : 1'000);
      if (n > 0 && (fds[0].revents & POLLIN)) break;
      if (fd >= 0 && n > 0 && (fds[1].revents & POLLIN)) {
        alignas(inotify_event) char buf[4096];
        while (::read(fd, buf, sizeof buf) > 0) {  // drain: one rescan covers them all
        }
      }
      reload();
    }
    if (fd >= 0) ::close(fd);
  });
}

std::vector<std::shared_ptr<const ServedInstance>> DirectoryInstanceStore::all() const {
  const std::lock_guard lock(mutex_);
  return index_->all();
}

std::size_t DirectoryInstanceStore::size() const {
  const std::lock_guard lock(mutex_);
  return index_->size();
}

void DirectoryInstanceStore::rescan_locked() {
  std::error_code ec;
  std::map<std::string, FileState> next;
  bool changed = false;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const auto& path = it->path();
    if (path.extension() != ".json") continue;
    const auto name = path.string();
    FileState state;
    // Not followed: a link, FIFO or device named *.json is refused by read_record_file,
    // once (its state stays the same until it changes type).
    const auto type = it->symlink_status(ec).type();
    if (type == fs::file_type::directory) continue;
    if (!ec && type == fs::file_type::regular) {
      state.mtime = it->last_write_time(ec);
      state.size = it->file_size(ec);
    }
    if (ec) continue;  // vanished between listing and stat: picked up next time
    if (const auto old = files_.find(name);
        old != files_.end() && old->second.mtime == state.mtime && old->second.size == state.size) {
      next.emplace(name, old->second);
      continue;
    }
    changed = true;
    try {
      state.served =
          make_served(record::parse_instance_json(read_record_file(path), name, defaults_), host_,
                      path.stem().string());
      log_("loaded " + name + " (instance " + state.served->instance.instance_id + ")");
    } catch (const std::exception& e) {
      log_("skipping instance record: " + std::string(e.what()));
    }
    next.emplace(name, std::move(state));
  }
  if (ec) log_("cannot list instance directory " + dir_.string() + ": " + ec.message());
  if (!changed && next.size() == files_.size()) return;
  files_ = std::move(next);
  std::vector<std::shared_ptr<const ServedInstance>> served;
  for (const auto& [name, state] : files_) {
    if (state.served) served.push_back(state.served);
  }
  auto index = std::make_shared<InstanceIndex>();
  for (const auto& problem : index->build(served)) log_(problem);
  const std::lock_guard lock(mutex_);
  index_ = std::move(index);
}

}  // namespace cloudtwin::metadata
