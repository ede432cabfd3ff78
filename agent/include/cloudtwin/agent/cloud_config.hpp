#pragma once
// The #cloud-config subset the agent applies, parsed with yaml-cpp. Pure: text in,
// model out; applying it is user_data_run's job.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cloudtwin::agent {

// runcmd / bootcmd entry. A list is exec'd directly (argv[0] looked up in PATH). A
// string is, by cloud-init's definition, a shell command line: it runs as
// /bin/sh -c STRING. That string is the VM owner's own user-data, run in their VM,
// never text from the host.
struct Command {
  std::vector<std::string> argv;
  bool shell = false;  // argv = {"/bin/sh", "-c", string}
  bool operator==(const Command&) const = default;
};

struct WriteFile {
  std::string path;
  std::string content;  // decoded (b64 / gzip / gz+b64 undone)
  unsigned mode = 0644;
  std::string owner = "root:root";
  bool append = false;
  bool operator==(const WriteFile&) const = default;
};

struct UserSpec {
  std::string name;
  std::optional<std::string> sudo;  // sudoers rule, e.g. "ALL=(ALL) NOPASSWD:ALL"
  std::vector<std::string> ssh_authorized_keys;
  std::optional<std::string> shell;
  bool operator==(const UserSpec&) const = default;
};

struct CloudConfig {
  std::optional<std::string> hostname;
  std::optional<std::string> fqdn;
  std::vector<std::string> ssh_authorized_keys;  // for the default user
  std::vector<WriteFile> write_files;
  std::vector<Command> bootcmd;
  std::vector<Command> runcmd;
  std::vector<UserSpec> users;
  std::vector<std::string> ignored;  // top-level keys the agent does not handle
};

// Throws ParseError(ContextSyntax) with source:line:column for broken YAML, and
// Error(InvalidArgument) naming the key for a value of the wrong shape or a bad encoding.
CloudConfig parse_cloud_config(std::string_view text, const std::string& source);

}  // namespace cloudtwin::agent
