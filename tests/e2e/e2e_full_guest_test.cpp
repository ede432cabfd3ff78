// The full guest (issue 7, items 1b and 2): an unmodified Debian 12 cloud image with
// cloud-init and no cloudtwin at all (scripts/build-full-guest.sh), booted by
// `cloudtwin vm create` with EC2-style SMBIOS and no CD, contextualized by cloudtwin-metadata.
// cloud-init must find it as EC2, set the hostname, install the SSH key and run a runcmd once;
// checked on the serial console, from the network, and on the disk after shutdown (debugfs).
// Label vm; needs root.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "e2e_fixture.hpp"

namespace cloudtwin::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kImage = "debian12-cloud.qcow2";
// "Cloud-init v. 22.4.2 finished at <date>. Datasource DataSourceEc2Local.  Up 95.30 seconds"
constexpr const char* kFinished = " finished at ";
constexpr const char* kRunsFile = "/var/lib/cloudtwin-runcmd";

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string tail(const std::string& log) {
  return log.size() > 3000 ? log.substr(log.size() - 3000) : log;
}

// The line of `log` that contains `what` (from `from` on), without its line break.
std::string line_with(const std::string& log, const std::string& what, std::size_t from = 0) {
  const auto at = log.find(what, from);
  if (at == std::string::npos) return "";
  const auto start = log.rfind('\n', at);
  const auto b = start == std::string::npos ? 0 : start + 1;
  auto line = log.substr(b, log.find('\n', at) - b);
  while (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// The cloud-init guest's boot is long; a second boot and a build make it more so.
std::string full_guest_gate() {
  const char* v = std::getenv("CLOUDTWIN_FULL_GUEST");
  if (v && std::string(v) == "0") return "CLOUDTWIN_FULL_GUEST=0";
  return "";
}

class FullGuest : public E2e {
 protected:
  // Builds (or takes from the cache) the image, puts it in the host's image dir.
  std::string prepare_full() {
    if (auto why = full_guest_gate(); !why.empty()) return why;
    if (auto why = prepare(); !why.empty()) return why;
    for (const char* p : {"debootstrap", "mkfs.ext4", "debugfs", "qemu-img"}) {
      if (!vm::find_program(p))
        return std::string(p) + " is not installed (scripts/install-deps.sh)";
    }
    const auto start = Clock::now();
    const auto out = vm::run_checked(
        {CLOUDTWIN_SOURCE_DIR "/scripts/build-full-guest.sh", CLOUDTWIN_E2E_FULL_GUEST_DIR}, 2400s);
    std::printf("[ timing   ] full guest build %.1f s:\n%s", seconds_since(start), out.c_str());
    const fs::path built(CLOUDTWIN_E2E_FULL_GUEST_DIR);
    fs::create_directories(work() / "full");
    for (const char* f : {"vmlinuz", "initrd.img"}) fs::copy_file(built / f, work() / "full" / f);
    // The base image stays read-only: `vm create` puts a qcow2 overlay in the instance dir.
    std::error_code ec;
    fs::create_hard_link(built / "disk.qcow2", work() / "images" / kImage, ec);
    if (ec) fs::copy_file(built / "disk.qcow2", work() / "images" / kImage);
    return "";
  }

  Vm create_full_vm(const std::string& name) {
    if (!sandbox_) start_sandbox_with_network();
    const auto tmpl = work() / (name + ".tmpl");
    std::ofstream(tmpl) << "MEMORY = 768\n"
                        << "OS = [ KERNEL = \"" << (work() / "full" / "vmlinuz").string()
                        << "\", INITRD = \"" << (work() / "full" / "initrd.img").string()
                        << "\",\n       KERNEL_CMD = \"console=ttyS0 root=/dev/vda rw\" ]\n"
                        << "DISK = [ IMAGE = \"" << kImage << "\" ]\n"
                        << "NIC = [ NETWORK = \"" << kNetwork << "\" ]\n"
                        << "EC2 = [ INSTANCETYPE = \"t3.micro\", HTTP_TOKENS = \"required\" ]\n"
                        << "CONSOLE_LOG = YES\n"
                        // No CD: cloud-init would take the OpenNebula context CD before EC2.
                        << "CONTEXT_CD = NO\n";
    Vm vm;
    vm.name = name;
    vm.hostname = name;
    const auto r = ct({"vm", "create", tmpl.string(), "--name", name, "--ssh-key",
                       (work() / "key.pub").string()});
    vm.created = Clock::now();
    if (r.exit_code != 0) throw Error(ErrorCode::System, "vm create failed:\n" + r.output);
    std::smatch m;
    if (!std::regex_search(r.output, m, std::regex(R"(([0-9.]+)@)")))
      throw Error(ErrorCode::System, "vm create printed no address:\n" + r.output);
    vm.ip = m[1];
    attach_console(vm);
    return vm;
  }

  void attach_console(Vm& vm) {
    vm.console.reset();
    const auto pty = sandbox_->checked({"virsh", "-c", "qemu:///system", "ttyconsole", vm.name});
    auto path = pty.substr(0, pty.find('\n'));
    vm.console = std::make_unique<Console>(path, work() / (vm.name + ".console.log"));
  }

  // `vm stop --force` and wait until libvirt says shut off. Not ACPI: the image has no
  // evdev module (its kernel modules live in the initramfs only) and no D-Bus, so
  // systemd-logind never sees the power button. runcmd ends with `sync`, and everything the
  // test reads on the disk was written before it.
  void stop_and_wait(const Vm& vm) {
    const auto start = Clock::now();
    const auto r = ct({"vm", "stop", vm.name, "--force"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (int i = 0; i < 600; ++i) {
      const auto state = sandbox_->exec({"virsh", "-c", "qemu:///system", "domstate", vm.name});
      if (state.output.find("shut off") != std::string::npos) {
        std::printf("[ timing   ] %s: vm stop -> shut off %.1f s\n", vm.name.c_str(),
                    seconds_since(start));
        return;
      }
      std::this_thread::sleep_for(200ms);
    }
    throw Error(ErrorCode::System, vm.name + " did not shut down within 120 s");
  }

  // What the guest wrote, read from its overlay (through the backing chain) without booting.
  std::string read_guest_file(const std::string& name, const std::string& path) {
    const auto raw = work() / (name + ".raw");
    if (!fs::exists(raw)) {
      // A volume of the instances dir's storage pool ([storage] overlays = auto on
      // qemu:///system): flat in the directory, as a pool has no subdirectories.
      vm::run_checked({"qemu-img", "convert", "-O", "raw",
                       (work() / "instances" / (name + "-disk0.qcow2")).string(), raw.string()},
                      300s);
      // The forced stop left the latest metadata in the ext4 journal; debugfs does not replay
      // it. e2fsck does (on this copy only).
      vm::run_command({"e2fsck", "-y", "-E", "journal_only", raw.string()}, 120s);
    }
    return vm::run_command({"debugfs", "-R", "cat " + path, raw.string()}, 30s).output;
  }
};

TEST_F(FullGuest, CloudInitGuestContextFromMetadataServiceAsEc2) {
  if (const auto why = prepare_full(); !why.empty()) GTEST_SKIP() << why;
  start_sandbox_with_network();
  start_metadata_service();
  const std::string host = "full-guest";
  auto vm = create_full_vm(host);
  // cloud-config: runcmd leaves a marker (appended: a second run would add a line) and
  // shows what cloud-init set up on the console.
  write_instance_record(
      vm, host,
      std::string("#cloud-config\nruncmd:\n") + "  - echo ran >> " + kRunsFile + "\n" +
          "  - echo CLOUDTWIN-RUNCMD host=$(hostname) > /dev/console\n" +
          "  - echo CLOUDTWIN-KEY $(cat /home/debian/.ssh/authorized_keys) > /dev/console\n" +
          "  - echo CLOUDTWIN-ADDR $(ip -4 -o addr show scope global | awk '{print $4}') > "
          "/dev/console\n" +
          "  - sync\n");

  const auto log = vm.console->wait_for(kFinished, 900s);
  const double wall = seconds_since(vm.created);
  const auto finished = line_with(log, kFinished);
  std::smatch up;
  const double uptime = std::regex_search(finished, up, std::regex(R"(Up ([0-9.]+) seconds)"))
                            ? std::stod(up[1])
                            : -1;
  std::printf(
      "[ timing   ] %s: vm create -> cloud-init finished %.1f s wall, guest uptime %.1f s\n",
      host.c_str(), wall, uptime);
  std::printf("[ cloud-init] %s\n", finished.c_str());
  RecordProperty("full_create_to_contextualized_ms", static_cast<int>(wall * 1000));
  RecordProperty("full_guest_uptime_ms", static_cast<int>(uptime * 1000));
  EXPECT_NE(finished.find("DataSourceEc2"), std::string::npos)
      << "cloud-init did not take the EC2 datasource:\n"
      << finished;
  // runcmd's lines come out in cloud-final, just before the "finished" line.
  EXPECT_NE(log.find("CLOUDTWIN-RUNCMD host=" + host), std::string::npos) << tail(log);
  EXPECT_NE(line_with(log, "CLOUDTWIN-KEY").find(kSshKey), std::string::npos)
      << line_with(log, "CLOUDTWIN-KEY");
  EXPECT_NE(line_with(log, "CLOUDTWIN-ADDR").find(vm.ip + "/24"), std::string::npos)
      << "MAC-derived address: " << line_with(log, "CLOUDTWIN-ADDR");

  // From the host side: ping, and sshd's banner on TCP 22 (host keys made by cloud-init).
  const auto ping = sandbox_->exec({"busybox", "ping", "-c1", "-W3", vm.ip}, 10s);
  EXPECT_EQ(ping.exit_code, 0) << ping.output;
  vm::CommandResult banner;
  for (int i = 0; i < 10 && banner.output.find("SSH-2.0-") == std::string::npos; ++i) {
    if (i) std::this_thread::sleep_for(2s);
    banner = sandbox_->exec({"sh", "-c", "timeout 5 busybox nc " + vm.ip + " 22 </dev/null"}, 10s);
  }
  EXPECT_NE(banner.output.find("SSH-2.0-OpenSSH"), std::string::npos) << banner.output;
  const auto metadata_log = read_text(work() / "metadata.log");
  EXPECT_NE(metadata_log.find("/latest/api/token"), std::string::npos)
      << "cloud-init used IMDSv2:\n"
      << metadata_log;

  // Reboot (a power cycle through the public commands): cloud-init runs again, runcmd not.
  stop_and_wait(vm);
  const auto restarted = Clock::now();
  const auto r = ct({"vm", "start", vm.name});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  attach_console(vm);
  const auto log2 = vm.console->wait_for(kFinished, 900s);
  std::printf("[ timing   ] %s: second boot -> cloud-init finished %.1f s\n", host.c_str(),
              seconds_since(restarted));
  EXPECT_EQ(log2.find("CLOUDTWIN-RUNCMD"), std::string::npos) << "runcmd ran again:\n"
                                                              << tail(log2);
  stop_and_wait(vm);

  // The disk, read without booting it.
  // debugfs prints its banner first (on stderr, merged here); the file follows it.
  EXPECT_NE(read_guest_file(host, "/etc/hostname").find("\n" + host + "\n"), std::string::npos);
  EXPECT_NE(read_guest_file(host, "/home/debian/.ssh/authorized_keys").find(kSshKey),
            std::string::npos);
  EXPECT_EQ(count(read_guest_file(host, kRunsFile), "ran"), 1u) << "runcmd ran exactly once";
  const auto cloud_log = read_guest_file(host, "/var/log/cloud-init.log");
  EXPECT_NE(cloud_log.find("DataSourceEc2"), std::string::npos);
  const auto console = read_text(work() / "instances" / host / "console.log");
  EXPECT_NE(console.find(kFinished), std::string::npos) << "CONSOLE_LOG=YES kept the serial log";
  delete_and_check_nothing_left(host);
}

}  // namespace
}  // namespace cloudtwin::e2e
