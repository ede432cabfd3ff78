#pragma once
// The E2e fixture: builds the tiny agent guest, starts a sandbox (libvirtd in its own
// namespaces), drives `cloudtwin` inside it and checks what the guest and the host show.

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/mac_ip.hpp"
#include "cloudtwin/e2e/sandbox.hpp"
#include "cloudtwin/vm/process.hpp"
#include "cloudtwin/vm/qemu_guest.hpp"

namespace cloudtwin::e2e {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Flat = std::vector<std::pair<std::string, std::string>>;

inline constexpr const char* kNetwork = "e2e";
inline constexpr const char* kCidr = "10.77.0.0/24";
inline constexpr const char* kFirstIp = "10.77.0.2";
inline constexpr const char* kStatusBegin = "=== CLOUDTWIN-STATUS-BEGIN ===";
inline constexpr const char* kStatusEnd = "=== CLOUDTWIN-STATUS-END ===";
inline constexpr const char* kShellUp = "staying up, shell on the console";
inline constexpr const char* kSshKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2eTestKeyNotReal00000000000000000000000000 "
    "e2e@cloudtwin";

inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

inline std::string value(const Flat& flat, const std::string& key) {
  for (const auto& [k, v] : flat) {
    if (k == key) return v;
  }
  return "<missing " + key + ">";
}

// Result of the step called `name` in `stage`, e.g. "\"ok\"".
inline std::string step_result(const Flat& flat, const std::string& stage,
                               const std::string& name) {
  const std::string prefix = "stages." + stage + ".steps[";
  for (const auto& [k, v] : flat) {
    if (k.rfind(prefix, 0) == 0 && k.size() > 5 && k.substr(k.size() - 5) == ".name" &&
        v == "\"" + name + "\"") {
      return value(flat, k.substr(0, k.size() - 5) + ".result");
    }
  }
  return "<no step " + name + " in " + stage + ">";
}

struct Vm {
  std::string name;
  std::string hostname;  // what the guest should call itself (default: name)
  std::string marker;    // what its user-data writes to /run/marker; empty: not checked
  std::string ip;
  std::unique_ptr<Console> console;
  Clock::time_point created;
};

struct Status {
  std::string json;
  double wall_s = 0;    // vm create returned -> status printed
  double uptime_s = 0;  // guest's own uptime when /init printed it
};

// How create_tiny_vm treats the context CD right after the VM starts, before the guest's
// kernel looks for it (`vm create` always attaches one).
struct CdChange {
  bool eject = false;                  // no context CD at all (CONTEXT_CD = NO)
  std::filesystem::path replace_with;  // non-empty: this ISO goes in instead (a corrupt one)
};

class E2e : public ::testing::Test {
 protected:
  // Why this machine cannot run the test, or "" after building the guest and a work dir.
  std::string prepare();
  void start_sandbox_with_network();
  // `cloudtwin --config HOST.CONF args...` inside the sandbox.
  vm::CommandResult ct(const std::vector<std::string>& args);
  // Creates a VM of the tiny agent guest (kernel command line + `cmdline_extra`) and
  // opens its console. `context` lines go into the template's CONTEXT; empty: none.
  // `eject_cd`: a VM without a context CD (template CONTEXT_CD = NO), as on EC2.
  Vm create_tiny_vm(const std::string& name, const std::string& cmdline_extra,
                    const std::string& context = "", bool eject_cd = false);
  // The same with a CD change and `template_extra` lines (DISK = [...]) in the template.
  Vm create_tiny_vm(const std::string& name, const std::string& cmdline_extra,
                    const std::string& context, const CdChange& cd,
                    const std::string& template_extra);
  // Waits for the status the guest prints after console offset `from` (0: first boot).
  Status boot_and_read_status(Vm& vm, std::size_t from = 0);
  // Asks the guest's shell for its host name, eth0 address and MAC, and authorized_keys.
  void check_guest_state(Vm& vm);
  // ping + a TCP connection (busybox httpd started in the guest) from the namespace.
  void check_reachable(Vm& vm);
  void delete_and_check_nothing_left(const std::string& name);
  // Starts cloudtwin-metadata on 169.254.169.254:80 inside the sandbox, serving records/;
  // its output goes to work()/`log_name`.
  void start_metadata_service(const std::string& log_name = "metadata.log");
  // The same, but its records come only from the sandbox's libvirtd (`--libvirt
  // qemu:///system`: each domain's <metadata>, kept current by domain events); its control
  // socket is metadata_ctl_socket().
  void start_metadata_service_from_libvirt(const std::string& log_name = "metadata.log");
  std::filesystem::path metadata_ctl_socket() const { return work() / "metadata.sock"; }
  // SIGKILL, as a crash would: no clean shutdown, no flushing.
  void kill_metadata_service();
  // The instance record `vm create` wrote for `name` (its domain's <metadata>, as
  // `vm show --json` prints it under "record"), and its instance-id.
  nlohmann::json vm_record(const std::string& name);
  std::string instance_id(const std::string& name);
  // Puts `vm`'s record from vm_record() into records/ for start_metadata_service(), with its
  // host name and user-data replaced and IMDSv2 required (tests where the CD and the
  // service must say different things).
  void write_instance_record(const Vm& vm, const std::string& hostname,
                             const std::string& user_data);
  void expect_nothing_left(const std::string& name);
  void TearDown() override;
  // cloudtwin-metadata ... `source` (e.g. --instances DIR), in the background.
  void start_metadata(const std::string& log_name, const std::vector<std::string>& source);

  const std::filesystem::path& work() const { return tmp_->path(); }
  std::filesystem::path kernel() const { return work() / "guest" / "vmlinuz"; }
  std::filesystem::path initrd() const { return work() / "guest" / "initrd.img"; }
  Sandbox& sandbox() { return *sandbox_; }

  std::unique_ptr<vm::TempDir> tmp_;
  std::unique_ptr<Sandbox> sandbox_;
  std::string netns_;
  pid_t metadata_pid_ = 0;
};

// Reads a whole file ("" if it cannot be read).
std::string read_text(const std::filesystem::path& path);

}  // namespace cloudtwin::e2e
