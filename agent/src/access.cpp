#include "cloudtwin/agent/access.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/strings.hpp"

namespace cloudtwin::agent {

namespace fs = std::filesystem;

namespace {

using core::trim;

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

// Write to a temporary file next to the target, then rename: a crash never leaves a
// half-written authorized_keys or hosts file.
void write_atomic(const fs::path& path, const std::string& content, mode_t mode) {
  const fs::path tmp = path.string() + ".cloudtwin-tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    throw Error(ErrorCode::Io, "cannot write " + path.string() + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < content.size()) {
    const auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n <= 0) {
      ::close(fd);
      throw Error(ErrorCode::Io, "cannot write " + path.string() + ": " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  ::fchmod(fd, mode);
  ::close(fd);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error(ErrorCode::Io, "cannot replace " + path.string() + ": " + ec.message());
}

bool parse_uint(std::string_view s, unsigned& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
}

}  // namespace

void write_file_atomic(const fs::path& path, const std::string& content, unsigned mode) {
  write_atomic(path, content, static_cast<mode_t>(mode));
}

std::string read_or_empty(const fs::path& path) {
  // POSIX read rather than istreambuf_iterator: GCC 12's -Wnull-dereference misfires on the latter
  // at -O2.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string out;
  char buf[8192];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

fs::path under_root(const fs::path& root, const fs::path& path) {
  return root / path.relative_path();
}

std::optional<PasswdEntry> find_passwd_entry(std::string_view passwd, std::string_view user) {
  for (const auto line : split_lines(passwd)) {
    std::vector<std::string_view> f;
    std::string_view rest = line;
    for (;;) {
      const auto c = rest.find(':');
      f.push_back(rest.substr(0, c));
      if (c == std::string_view::npos) break;
      rest.remove_prefix(c + 1);
    }
    if (f.size() != 7 || f[0] != user) continue;
    PasswdEntry e;
    e.name = std::string(f[0]);
    if (!parse_uint(f[2], e.uid) || !parse_uint(f[3], e.gid) || f[5].empty()) continue;
    e.home = std::string(f[5]);
    return e;
  }
  return std::nullopt;
}

std::string merge_authorized_keys(std::string_view existing, const std::vector<std::string>& keys) {
  std::string out(existing);
  if (!out.empty() && out.back() != '\n') out += '\n';
  std::vector<std::string> present;
  for (const auto line : split_lines(existing)) present.emplace_back(trim(line));
  for (const auto& key : keys) {
    const auto k = std::string(trim(key));
    if (k.empty() || std::find(present.begin(), present.end(), k) != present.end()) continue;
    out += k + "\n";
    present.push_back(k);
  }
  return out;
}

void check_hostname(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 253 && name.front() != '.' && name.back() != '.';
  std::size_t label = 0;
  for (std::size_t i = 0; ok && i < name.size(); ++i) {
    const char c = name[i];
    if (c == '.') {
      ok = label > 0 && name[i - 1] != '-';
      label = 0;
    } else {
      ok =
          (std::isalnum(static_cast<unsigned char>(c)) || (c == '-' && label > 0)) && ++label <= 63;
    }
  }
  if (ok && name.back() == '-') ok = false;
  if (!ok) {
    throw Error(
        ErrorCode::InvalidArgument,
        "host name '" + std::string(name) +
            "' is not valid: use letters, digits and '-' in dot-separated labels of at most 63");
  }
}

std::string update_hosts(std::string_view existing, std::string_view hostname) {
  const auto dot = hostname.find('.');
  std::string entry = "127.0.1.1\t" + std::string(hostname);
  if (dot != std::string_view::npos) entry += " " + std::string(hostname.substr(0, dot));
  std::string out;
  bool replaced = false;
  for (const auto line : split_lines(existing)) {
    if (trim(line).starts_with("127.0.1.1")) {
      if (!replaced) out += entry + "\n";
      replaced = true;
      continue;
    }
    out += std::string(line) + "\n";
  }
  if (!replaced) out += entry + "\n";
  return out;
}

std::vector<std::string> install_hostname(const fs::path& root, std::string_view hostname) {
  check_hostname(hostname);
  std::vector<std::string> done;
  const auto etc = under_root(root, "/etc");
  fs::create_directories(etc);
  const std::string name_line = std::string(hostname) + "\n";
  if (read_or_empty(etc / "hostname") != name_line) {
    write_atomic(etc / "hostname", name_line, 0644);
    done.push_back("wrote /etc/hostname: " + std::string(hostname));
  }
  const auto hosts = read_or_empty(etc / "hosts");
  const auto updated = update_hosts(hosts, hostname);
  if (updated != hosts) {
    write_atomic(etc / "hosts", updated, 0644);
    done.push_back("updated /etc/hosts");
  }
  return done;
}

std::vector<std::string> install_ssh_keys(const fs::path& root, const std::string& user,
                                          const std::vector<std::string>& keys) {
  const auto entry = find_passwd_entry(read_or_empty(under_root(root, "/etc/passwd")), user);
  if (!entry) {
    throw Error(ErrorCode::NotFound, "user '" + user + "' is not in " +
                                         under_root(root, "/etc/passwd").string() +
                                         "; SSH keys not installed");
  }
  const auto ssh = under_root(root, entry->home) / ".ssh";
  fs::create_directories(ssh);
  ::chmod(ssh.c_str(), 0700);
  const auto file = ssh / "authorized_keys";
  const auto existing = read_or_empty(file);
  const auto merged = merge_authorized_keys(existing, keys);
  std::vector<std::string> done;
  if (merged != existing || !fs::exists(file)) {
    write_atomic(file, merged, 0600);
    done.push_back("authorized_keys of " + user + ": " +
                   std::to_string(std::count(merged.begin(), merged.end(), '\n') -
                                  std::count(existing.begin(), existing.end(), '\n')) +
                   " key(s) added");
  }
  if (geteuid() == 0) {
    // lchown: never follow a link planted in the user's home.
    if (::lchown(ssh.c_str(), entry->uid, entry->gid) != 0 ||
        ::lchown(file.c_str(), entry->uid, entry->gid) != 0) {
      throw Error(ErrorCode::Io,
                  "cannot give " + file.string() + " to " + user + ": " + std::strerror(errno));
    }
  }
  return done;
}

}  // namespace cloudtwin::agent
