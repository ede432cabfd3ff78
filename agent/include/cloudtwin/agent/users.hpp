#pragma once
// Local users without useradd: /etc/passwd, /etc/shadow and /etc/group are edited as
// text (pure functions) and written atomically under the root. Chosen over useradd so
// that tests run the production code in a temp root and minimal images without the
// passwd package still work; the price: no /etc/skel copy and no nscd/sssd cache flush
// (neither exists at first boot on our images).

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cloudtwin::agent {

struct UserDb {
  std::string passwd;
  std::string shadow;
  std::string group;
};

struct NewUser {
  UserDb db;
  unsigned uid = 0;
  unsigned gid = 0;
  std::string home;
};

// Throws Error(InvalidArgument) for a name useradd would refuse ([a-z_][a-z0-9_-]*[$]?,
// at most 32 characters).
void check_user_name(std::string_view name);

// The databases with `name` added: the first free uid >= 1000 (and < 60000), a group of
// the same name with the same id when free, home /home/<name>, locked password ("!").
// The user must not exist yet.
NewUser add_user(const UserDb& db, std::string_view name, std::string_view shell = "/bin/sh");

// "<name> <rule>\n", the rule defaulting to "ALL=(ALL) NOPASSWD:ALL". Throws
// Error(InvalidArgument) for a rule with a newline.
std::string sudoers_entry(std::string_view name, std::string_view rule);

// Creates the user under root when missing (home 0700, owned by it when running as root).
// Returns what it did; empty when the user already existed.
std::vector<std::string> ensure_user(const std::filesystem::path& root, const std::string& name,
                                     const std::optional<std::string>& shell = std::nullopt);

// Writes <root>/etc/sudoers.d/90-cloudtwin-<name> (0440) when its content differs.
std::vector<std::string> install_sudo(const std::filesystem::path& root, const std::string& name,
                                      std::string_view rule);

}  // namespace cloudtwin::agent
