#pragma once
// The state dir's file I/O. Every write is atomic (temp file in the same directory,
// fsync, rename, fsync of the directory), so a crash leaves the old or the new content,
// never a torn key or CRL. Errors throw cloudtwin::Error(Io) naming the path.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

namespace cloudtwin::vpn {

void write_file_atomic(const std::string& path, const std::string& content, mode_t mode);
std::string read_file(const std::string& path);
std::optional<std::string> read_file_if_exists(const std::string& path);
bool file_exists(const std::string& path);
void make_dir(const std::string& path, mode_t mode);  // existing dir is fine; parents too
void remove_file(const std::string& path);            // a missing file is fine

// An exclusive flock(2) on `path` (created 0600 if missing), held until destruction.
// It serialises the commands that read-modify-write the state dir (init, issue, revoke),
// across processes and across threads alike (each lock opens its own file description).
// The lock lives on a file of its own: index.txt is replaced by rename, so a lock on it
// would be a lock on an inode nobody else opens any more. Waits up to `timeout`, then
// throws Error(Io) naming the path; a holder that dies releases the lock with its fd.
class FileLock {
 public:
  explicit FileLock(const std::string& path,
                    std::chrono::milliseconds timeout = std::chrono::seconds(60));
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  int fd_ = -1;
};

}  // namespace cloudtwin::vpn
