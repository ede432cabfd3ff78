#include "cloudtwin/agent/users.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <set>

#include "cloudtwin/agent/access.hpp"
#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {

namespace fs = std::filesystem;

namespace {

// Third field (the id) of every line of a passwd or group file.
std::set<unsigned> ids(std::string_view db) {
  std::set<unsigned> out;
  while (!db.empty()) {
    const auto nl = db.find('\n');
    auto line = db.substr(0, nl);
    db.remove_prefix(nl == std::string_view::npos ? db.size() : nl + 1);
    const auto a = line.find(':');
    const auto b = a == std::string_view::npos ? a : line.find(':', a + 1);
    const auto c = b == std::string_view::npos ? b : line.find(':', b + 1);
    if (c == std::string_view::npos) continue;
    unsigned id = 0;
    const auto field = line.substr(b + 1, c - b - 1);
    if (std::from_chars(field.data(), field.data() + field.size(), id).ec == std::errc{})
      out.insert(id);
  }
  return out;
}

bool has_name(std::string_view db, std::string_view name) {
  const std::string prefix = std::string(name) + ":";
  std::size_t pos = 0;
  while (pos < db.size()) {
    if (db.substr(pos).starts_with(prefix)) return true;
    const auto nl = db.find('\n', pos);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return false;
}

std::string with_line(std::string text, const std::string& line) {
  if (!text.empty() && text.back() != '\n') text += '\n';
  return text + line + "\n";
}

}  // namespace

void check_user_name(std::string_view name) {
  bool ok =
      !name.empty() && name.size() <= 32 && ((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_');
  for (std::size_t i = 1; ok && i < name.size(); ++i) {
    const char c = name[i];
    ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         (c == '$' && i + 1 == name.size());
  }
  if (!ok)
    throw Error(ErrorCode::InvalidArgument,
                "user name '" + std::string(name) +
                    "' is not valid: lower-case letters, digits, '_' and '-', starting with a "
                    "letter or '_', at most 32");
}

NewUser add_user(const UserDb& db, std::string_view name, std::string_view shell) {
  check_user_name(name);
  if (has_name(db.passwd, name))
    throw Error(ErrorCode::InvalidArgument, "user '" + std::string(name) + "' already exists");
  const auto users = ids(db.passwd);
  const auto groups = ids(db.group);
  NewUser u;
  u.uid = 1000;
  while (users.count(u.uid) || groups.count(u.uid)) ++u.uid;
  if (u.uid >= 60000) throw Error(ErrorCode::InvalidArgument, "no free uid below 60000");
  u.gid = u.uid;
  u.home = "/home/" + std::string(name);
  const std::string n(name);
  u.db.passwd =
      with_line(db.passwd, n + ":x:" + std::to_string(u.uid) + ":" + std::to_string(u.gid) +
                               "::" + u.home + ":" + std::string(shell));
  u.db.shadow = with_line(db.shadow, n + ":!:19000:0:99999:7:::");
  u.db.group = has_name(db.group, name)
                   ? db.group
                   : with_line(db.group, n + ":x:" + std::to_string(u.gid) + ":");
  return u;
}

std::string sudoers_entry(std::string_view name, std::string_view rule) {
  check_user_name(name);
  if (rule.find('\n') != std::string_view::npos || rule.find('\r') != std::string_view::npos)
    throw Error(ErrorCode::InvalidArgument,
                "sudo rule for '" + std::string(name) + "' contains a line break");
  if (rule.empty() || rule == "true" || rule == "True") rule = "ALL=(ALL) NOPASSWD:ALL";
  return std::string(name) + " " + std::string(rule) + "\n";
}

std::vector<std::string> ensure_user(const fs::path& root, const std::string& name,
                                     const std::optional<std::string>& shell) {
  const auto etc = under_root(root, "/etc");
  UserDb db{read_or_empty(etc / "passwd"), read_or_empty(etc / "shadow"),
            read_or_empty(etc / "group")};
  check_user_name(name);
  if (has_name(db.passwd, name)) return {};
  const auto u = add_user(db, name, shell.value_or("/bin/sh"));
  fs::create_directories(etc);
  // group first, passwd last: a crash in between leaves no user without its group.
  write_file_atomic(etc / "group", u.db.group, 0644);
  write_file_atomic(etc / "shadow", u.db.shadow, 0640);
  write_file_atomic(etc / "passwd", u.db.passwd, 0644);
  const auto home = under_root(root, u.home);
  fs::create_directories(home);
  ::chmod(home.c_str(), 0700);
  if (geteuid() == 0) (void)!::lchown(home.c_str(), u.uid, u.gid);
  return {"created user " + name + " (uid " + std::to_string(u.uid) + ", home " + u.home + ")"};
}

std::vector<std::string> install_sudo(const fs::path& root, const std::string& name,
                                      std::string_view rule) {
  const auto entry = sudoers_entry(name, rule);
  const auto dir = under_root(root, "/etc/sudoers.d");
  const auto file = dir / ("90-cloudtwin-" + name);
  if (read_or_empty(file) == entry) return {};
  fs::create_directories(dir);
  write_file_atomic(file, entry, 0440);
  return {"sudo for " + name + " in /etc/sudoers.d/90-cloudtwin-" + name};
}

}  // namespace cloudtwin::agent
