#pragma once
// Runs user-data once per instance: `#!` scripts exec'd directly (never through a
// shell string), #cloud-config applied (hostname, keys, users, write_files, bootcmd,
// runcmd), START_SCRIPT / INIT_SCRIPTS from the context CD. Processes go through the
// ProcessRunner seam; files land under the root directory.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/agent/datasource.hpp"
#include "cloudtwin/core/user_data.hpp"

namespace cloudtwin::agent {

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // Runs argv (argv[0] a path, or a name looked up in PATH) with a fixed environment,
  // stdout and stderr appended to `log`. Returns the exit status (128+N for signal N).
  // Throws Error(System) when it cannot be started.
  virtual int run(const std::vector<std::string>& argv, const std::filesystem::path& log) = 0;
};

// Directory name for an instance's state: the id with anything but [A-Za-z0-9._-]
// replaced by '_' ("." and ".." never); no id: "no-id-" + a hash of the user-data, so
// new user-data on a source without ids still runs once.
std::string instance_key(const std::optional<std::string>& instance_id, std::string_view user_data);

// One thing to run or apply, in order.
struct UserDataItem {
  std::string name;  // "part-001", "INIT_SCRIPTS init.sh", "START_SCRIPT"
  core::UserDataKind kind = core::UserDataKind::Unknown;
  std::string content;
};

// The items of a source: INIT_SCRIPTS files (OpenNebula order: init scripts first, or
// init.sh when INIT_SCRIPTS is unset and the CD has it), START_SCRIPT, then the parts of
// USER_DATA / user-data. Throws (bad encoding, bad MIME): the caller reports it.
std::vector<UserDataItem> collect_user_data(const Datasource& source);

struct PartResult {
  std::string name;
  std::string kind;
  std::optional<int> exit_code;  // scripts and commands: the last non-zero, else 0
  std::vector<std::string> messages;
  bool ok = true;
};

struct UserDataOptions {
  std::filesystem::path root = "/";
  std::filesystem::path state_dir = "/var/lib/cloudtwin-agent";  // under root
  std::string default_user = "root";  // who gets cloud-config's ssh_authorized_keys
};

struct UserDataOutcome {
  bool already_ran = false;  // the marker for this instance exists: nothing was run
  std::filesystem::path marker;
  std::vector<PartResult> parts;
  bool ok() const;
};

// Runs every item unless <state>/instances/<key>/user-data.done exists; writes it after
// the run (also when a part failed: a failing script is not retried at every boot).
UserDataOutcome run_user_data_once(const std::vector<UserDataItem>& items, const std::string& key,
                                   const UserDataOptions& options, ProcessRunner& runner);

}  // namespace cloudtwin::agent
