#pragma once
// Identity and access: hostname, /etc/hosts, authorized_keys. The text transformations
// are pure; install_* write the result under a root directory (so tests use a temp dir).

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cloudtwin::agent {

struct PasswdEntry {
  std::string name;
  unsigned uid = 0;
  unsigned gid = 0;
  std::string home;
};

// The entry for `user` in /etc/passwd text; nullopt when absent. Malformed lines are skipped.
std::optional<PasswdEntry> find_passwd_entry(std::string_view passwd, std::string_view user);

// Existing authorized_keys text plus the keys not already in it (compared line by line,
// ignoring surrounding blanks), in order; ends with a newline.
std::string merge_authorized_keys(std::string_view existing, const std::vector<std::string>& keys);

// /etc/hosts with exactly one "127.0.1.1 <fqdn> <short>" line (replacing an existing
// 127.0.1.1 line, keeping everything else).
std::string update_hosts(std::string_view existing, std::string_view hostname);

// Throws Error(InvalidArgument) for a name that is not a valid host name (RFC 1123).
void check_hostname(std::string_view hostname);

// Writes <root>/etc/hostname and updates <root>/etc/hosts. Returns what it did.
std::vector<std::string> install_hostname(const std::filesystem::path& root,
                                          std::string_view hostname);

// Adds keys to <root><home>/.ssh/authorized_keys of `user` (from <root>/etc/passwd),
// .ssh 0700 and the file 0600, owned by the user when running as root. Throws
// Error(NotFound) when the user does not exist.
std::vector<std::string> install_ssh_keys(const std::filesystem::path& root,
                                          const std::string& user,
                                          const std::vector<std::string>& keys);

// Writes a temporary file next to `path` with `mode`, then renames it over `path`.
// Throws Error(Io) naming the path.
void write_file_atomic(const std::filesystem::path& path, const std::string& content,
                       unsigned mode);

// The file's bytes, or "" when it does not exist or cannot be read.
std::string read_or_empty(const std::filesystem::path& path);

// <root>/<path without its leading '/'>
std::filesystem::path under_root(const std::filesystem::path& root,
                                 const std::filesystem::path& path);

}  // namespace cloudtwin::agent
