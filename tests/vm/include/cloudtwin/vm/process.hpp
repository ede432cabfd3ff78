#pragma once
// Running host commands from tests (iproute2, genisoimage, the guest build script).
// Test scaffolding, not product code: argv vectors, no shell, output captured.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cloudtwin::vm {

struct CommandResult {
  int exit_code = 0;   // 128 + signal number when the command was killed
  std::string output;  // stdout and stderr, interleaved
  bool timed_out = false;
};

// Runs argv[0] (searched in PATH) and waits for it, killing its process group after
// `timeout`. Throws Error(System) only when the process cannot be created.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(120));

// Like run_command, but throws Error(System) naming the command and its output when it
// does not exit with status 0.
std::string run_checked(const std::vector<std::string>& argv,
                        std::chrono::milliseconds timeout = std::chrono::seconds(120));

// The full path of `program` in PATH, if it is there and executable.
std::optional<std::filesystem::path> find_program(std::string_view program);

// "a b 'c d'": for messages only.
std::string join_command(const std::vector<std::string>& argv);

// A fresh directory under the system's temp dir, removed with its contents on destruction.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "cloudtwin-vm");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace cloudtwin::vm
