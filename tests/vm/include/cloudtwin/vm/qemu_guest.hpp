#pragma once
// One QEMU guest for a test: TCG (KVM does not work on the test machines, see
// TESTBED.md), machine pc, serial console written to a file. The destructor kills qemu,
// and qemu also dies with the test process (PR_SET_PDEATHSIG), so no guest outlives a test.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cloudtwin::vm {

struct QemuGuestConfig {
  std::filesystem::path kernel;
  std::filesystem::path initrd;
  std::string append;                // after "console=ttyS0 panic=-1"
  std::filesystem::path serial_log;  // truncated at start; qemu's own stderr goes to
                                     // serial_log + ".qemu"
  std::string netns;                 // run qemu in this namespace; empty: the caller's
  std::string tap;                   // -netdev tap,ifname=TAP + virtio-net; empty: no NIC
  std::string mac;                   // the NIC's MAC, e.g. 02:00:c0:a8:7a:0a
  std::filesystem::path cdrom;       // -drive media=cdrom,if=ide; empty: no CD
  int memory_mb = 256;
  std::vector<std::string> extra_args;  // appended as is (e.g. -smbios, a virtio disk)
  std::string qemu = "qemu-system-x86_64";
};

// The argv QemuGuest runs for `config` (with the ip netns exec prefix when netns is set).
std::vector<std::string> qemu_command_line(const QemuGuestConfig& config);

class QemuGuest {
 public:
  // Starts qemu. Throws Error(InvalidArgument) for a missing kernel/initrd/cdrom,
  // Error(System) when the process cannot be started.
  explicit QemuGuest(QemuGuestConfig config);
  ~QemuGuest();  // SIGTERM, then SIGKILL after 3 s
  QemuGuest(const QemuGuest&) = delete;
  QemuGuest& operator=(const QemuGuest&) = delete;

  // Waits until the serial log contains `marker` and returns the log. Throws Error(Io) on
  // timeout or when qemu exits first; the message holds the log's tail and qemu's stderr.
  std::string wait_for(std::string_view marker, std::chrono::milliseconds timeout);
  // Waits for qemu to exit by itself (guest poweroff with -no-reboot); its exit status,
  // or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running();

  std::string log() const;  // the serial console so far
  std::string qemu_stderr() const;
  const QemuGuestConfig& config() const noexcept { return config_; }
  pid_t pid() const noexcept { return pid_; }

 private:
  std::string describe(std::string_view what) const;
  QemuGuestConfig config_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

// The text between two marker lines of a console log (first occurrence), trimmed of
// surrounding whitespace and '\r'; nullopt when either marker is missing.
std::optional<std::string> text_between(std::string_view log, std::string_view begin,
                                        std::string_view end);
// The value of the first "KEY=value" line; nullopt when absent.
std::optional<std::string> line_value(std::string_view log, std::string_view key);

}  // namespace cloudtwin::vm
