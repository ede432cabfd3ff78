#pragma once
// The state dir's file I/O. Every write is atomic (temp file in the same directory,
// fsync, rename, fsync of the directory), so a crash leaves the old or the new content,
// never a torn key or CRL. Errors throw cloudtwin::Error(Io) naming the path.

#include <sys/types.h>
#include <optional>
#include <string>

namespace cloudtwin::vpn {

void write_file_atomic(const std::string& path, const std::string& content, mode_t mode);
std::string read_file(const std::string& path);
std::optional<std::string> read_file_if_exists(const std::string& path);
bool file_exists(const std::string& path);
void make_dir(const std::string& path, mode_t mode);  // existing dir is fine; parents too
void remove_file(const std::string& path);            // a missing file is fine

}  // namespace cloudtwin::vpn
