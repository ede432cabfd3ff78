#pragma once
// End-to-end scaffolding: a libvirt host in its own network + mount namespace
// (tests/e2e/sandbox.sh), the public `cloudtwin` CLI run inside it, and a guest's serial
// console read from its pty into a log file. Test code, not product code.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cloudtwin/vm/process.hpp"

namespace cloudtwin::e2e {

// One sandbox: started by the constructor, stopped (every process of the namespace killed,
// namespace deleted, host dirs it created removed) by the destructor.
class Sandbox {
 public:
  // Throws Error(System) with sandbox.sh's output when libvirtd does not come up.
  Sandbox(std::filesystem::path script, std::filesystem::path dir,
          std::filesystem::path libvirt_cache);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& netns() const noexcept { return netns_; }
  const std::filesystem::path& dir() const noexcept { return dir_; }
  // Runs argv inside the sandbox (network + mount namespace of its libvirtd).
  vm::CommandResult exec(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
  // exec, throwing Error(System) with the output unless the exit status is 0.
  std::string checked(const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
  // Stops now (idempotent); returns sandbox.sh's output.
  std::string stop();

 private:
  std::filesystem::path script_;
  std::filesystem::path dir_;
  std::string netns_;
  bool running_ = false;
};

// A guest's serial console: the pty libvirt gave QEMU (`virsh ttyconsole`), read by a
// thread into `log_path` and memory. QEMU drops console output while nobody has the pty
// open, so open it right after `vm create`; the kernel's first lines may be missing.
class Console {
 public:
  Console(const std::string& pty_path, std::filesystem::path log_path);
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  // Waits until the log contains `marker` after offset `from`; returns the whole log.
  // Throws Error(Io) on timeout with the log's tail.
  std::string wait_for(std::string_view marker, std::chrono::milliseconds timeout,
                       std::size_t from = 0);
  // Types `line` + "\n" on the console (a shell is reading when the guest has cloudtwin.keep=1).
  void send(std::string_view line);
  std::string log() const;

 private:
  void pump();
  int fd_ = -1;
  std::filesystem::path log_path_;
  std::ofstream file_;
  mutable std::mutex mu_;
  std::string text_;
  bool stop_ = false;
  std::thread reader_;
};

// The status JSON the tiny guest's /init prints between its markers, flattened to
// "stages.local.datasource" -> "\"context\"" (JSON text of each leaf; arrays by index).
std::vector<std::pair<std::string, std::string>> flatten_json(const std::string& json);

}  // namespace cloudtwin::e2e
