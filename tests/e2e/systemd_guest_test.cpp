// The agent package under a real systemd (issue 13): a Debian 12 guest with systemd as PID 1,
// no cloud-init, and the cloudtwin-agent .deb this build made installed by `apt-get install
// ./cloudtwin-agent_*.deb` in the image (scripts/build-full-guest.sh --no-cloud-init --deb).
// Booted by `cloudtwin vm create` under TCG, from a context CD or from the metadata service
// only. The guest's serial console has a root shell (tests/e2e/systemd_guest/); its
// ct-report prints what systemd did as @@KEY=VALUE lines. Label vm; needs root, and the
// packages (scripts/test.sh runs cpack before the tests).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "e2e_fixture.hpp"

namespace cloudtwin::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kImage = "debian12-systemd-agent.qcow2";
constexpr const char* kRuns = "/var/lib/ct-user-data-runs";

std::string tail(const std::string& log, std::size_t n = 4000) {
  return log.size() > n ? log.substr(log.size() - n) : log;
}

// The value after "@@KEY=" up to the end of its line, after offset `from`.
std::string report_value(const std::string& log, const std::string& key, std::size_t from) {
  const auto tag = "@@" + key + "=";
  const auto at = log.find(tag, from);
  if (at == std::string::npos) return "<no " + key + ">";
  const auto start = at + tag.size();
  auto v = log.substr(start, log.find_first_of("\r\n", start) - start);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\r')) v.pop_back();
  return v;
}

double secs(long long microseconds) { return static_cast<double>(microseconds) / 1e6; }

long long number(const std::string& v) {
  try {
    return std::stoll(v);
  } catch (...) {
    return -1;
  }
}

// The newest package of that name in the build's packages dir ("" if none).
fs::path find_deb(const std::string& package) {
  const fs::path dir(CLOUDTWIN_PACKAGES_DIR);
  std::error_code ec;
  fs::path best;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if (name.rfind(package + "_", 0) == 0 && e.path().extension() == ".deb") best = e.path();
  }
  return best;
}

std::string systemd_guest_gate() {
  const char* v = std::getenv("CLOUDTWIN_SYSTEMD_GUEST");
  if (v && std::string(v) == "0") return "CLOUDTWIN_SYSTEMD_GUEST=0";
  return "";
}

class SystemdGuest : public E2e {
 protected:
  struct Report {
    std::string log;
    std::size_t from = 0;
    std::string operator[](const std::string& key) const { return report_value(log, key, from); }
  };

  // Builds (or takes from the cache) the image with the newest `packages` of this build.
  std::string prepare_systemd(const std::vector<std::string>& packages) {
    if (auto why = systemd_guest_gate(); !why.empty()) return why;
    if (auto why = prepare(); !why.empty()) return why;
    std::vector<std::string> args;
    for (const auto& p : packages) {
      const auto deb = find_deb(p);
      if (auto why = check_deb(p, deb); !why.empty()) return why;
      args.push_back("--deb");
      args.push_back(deb.string());
    }
    return build_image(args, CLOUDTWIN_E2E_SYSTEMD_GUEST_DIR);
  }

  static std::string check_deb(const std::string& package, const fs::path& deb) {
    if (deb.empty())
      return "no " + package +
             "_*.deb in " CLOUDTWIN_PACKAGES_DIR
             " (scripts/test.sh makes them before the tests: cd build/ci && cpack -G DEB)";
    std::error_code ec;
    if (fs::last_write_time(deb, ec) < fs::last_write_time(CLOUDTWIN_AGENT, ec))
      return deb.string() + " is older than " CLOUDTWIN_AGENT " (cd build/ci && cpack -G DEB)";
    return "";
  }

  // scripts/build-full-guest.sh --no-cloud-init ARGS --add tests/e2e/systemd_guest OUTDIR;
  // the image goes into the host's image dir as kImage.
  std::string build_image(std::vector<std::string> args, const std::string& outdir) {
    for (const char* p : {"debootstrap", "mkfs.ext4", "qemu-img", "chroot", "dpkg-deb"}) {
      if (!vm::find_program(p))
        return std::string(p) + " is not installed (scripts/install-deps.sh)";
    }
    args.insert(args.begin(),
                {CLOUDTWIN_SOURCE_DIR "/scripts/build-full-guest.sh", "--no-cloud-init"});
    args.push_back("--add");
    args.push_back(CLOUDTWIN_SOURCE_DIR "/tests/e2e/systemd_guest");
    args.push_back(outdir);
    const auto start = Clock::now();
    const auto out = vm::run_checked(args, 2400s);
    std::printf("[ timing   ] systemd guest image %.1f s:\n%s", seconds_since(start), out.c_str());
    const fs::path built(outdir);
    fs::create_directories(work() / "full");
    for (const char* f : {"vmlinuz", "initrd.img"}) fs::copy_file(built / f, work() / "full" / f);
    std::error_code ec;
    fs::create_hard_link(built / "disk.qcow2", work() / "images" / kImage, ec);
    if (ec) fs::copy_file(built / "disk.qcow2", work() / "images" / kImage);
    return "";
  }

  Vm create_vm(const std::string& name, const std::string& template_extra) {
    if (!sandbox_) start_sandbox_with_network();
    const auto tmpl = work() / (name + ".tmpl");
    std::ofstream(tmpl) << "MEMORY = 768\n"
                        << "OS = [ KERNEL = \"" << (work() / "full" / "vmlinuz").string()
                        << "\", INITRD = \"" << (work() / "full" / "initrd.img").string()
                        << "\",\n       KERNEL_CMD = \"console=ttyS0 root=/dev/vda rw\" ]\n"
                        << "DISK = [ IMAGE = \"" << kImage << "\" ]\n"
                        << "NIC = [ NETWORK = \"" << kNetwork << "\" ]\n"
                        << template_extra;
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
    const auto pty = sandbox_->checked({"virsh", "-c", "qemu:///system", "ttyconsole", name});
    vm.console =
        std::make_unique<Console>(pty.substr(0, pty.find('\n')), work() / (name + ".console.log"));
    return vm;
  }

  // Waits for the autologin shell after console offset `from`, then runs ct-report in it.
  Report report(Vm& vm, std::size_t from, const char* what) {
    vm.console->wait_for(":~# ", 600s, from);
    const auto shell = vm.console->log().size();
    std::printf("[ timing   ] %s: %s -> root shell %.1f s\n", vm.name.c_str(), what,
                seconds_since(vm.created));
    vm.console->send("ct-report");
    Report r;
    r.log = vm.console->wait_for("@@REPORT_END=1", 400s, shell);
    r.from = shell;
    std::printf("[ timing   ] %s: %s -> boot finished and reported %.1f s\n", vm.name.c_str(), what,
                seconds_since(vm.created));
    return r;
  }

  // What every boot of the agent image must show.
  void expect_boot(const Report& r, const Vm& vm, const std::string& hostname) {
    const auto context = tail(r.log.substr(r.from), 3000);
    EXPECT_EQ(r["STATE"], "running") << "failed units: " << r["FAILED"] << "\n" << context;
    EXPECT_EQ(r["FAILED"], "");
    EXPECT_EQ(r["RUNS_local"], "1") << "cloudtwin-agent-local ran once this boot";
    EXPECT_EQ(r["RUNS_final"], "1") << "cloudtwin-agent-final ran once this boot";
    EXPECT_EQ(r["RESULT_local"], "success");
    EXPECT_EQ(r["RESULT_final"], "success");
    const auto local_done = number(r["LOCAL_DONE"]);
    const auto net_pre = number(r["NETPRE"]);
    const auto online = number(r["ONLINE"]);
    const auto final_start = number(r["FINAL_START"]);
    EXPECT_GT(local_done, 0);
    EXPECT_LE(local_done, net_pre) << "local done before network-pre.target";
    EXPECT_GT(online, 0);
    EXPECT_LE(online, final_start) << "final started after network-online.target";
    std::printf(
        "[ systemd  ] %s: local done %.2f s, network-pre %.2f s, network-online %.2f s, "
        "final started %.2f s (monotonic)\n",
        vm.name.c_str(), secs(local_done), secs(net_pre), secs(online), secs(final_start));
    std::printf("[ systemd  ] %s: systemd-analyze security: agent-local %s, agent-final %s\n",
                vm.name.c_str(), r["SEC_local"].c_str(), r["SEC_final"].c_str());
    // Debian's renderer: ifupdown (networking.service), networkd installed but not enabled.
    EXPECT_EQ(r["NETWORKING"], "active");
    EXPECT_EQ(r["NETWORKD"], "inactive");
    const auto nic = r["NIC"];
    EXPECT_EQ(r["IFSTATE"], nic + "=" + nic) << "ifupdown brought " << nic << " up";
    EXPECT_EQ(r["STANZA"], "iface " + nic + " inet static");
    EXPECT_EQ(r["ADDR"], vm.ip + "/24");
    EXPECT_NE(r["JOURNAL"], "0") << "the journal holds the agent's persist-network line";
    EXPECT_EQ(r["HOST"], hostname);
    EXPECT_EQ(r["KEY"], kSshKey);
    EXPECT_EQ(r["STATUS_RC"], "0");
    EXPECT_EQ(r["STATUS_STAGES"], "\"final\" \"local\"");
  }

  // An in-guest reboot: both stages run again, user-data does not.
  void reboot_and_check(Vm& vm, const std::string& hostname) {
    const auto from = vm.console->log().size();
    vm.created = Clock::now();
    vm.console->send("systemctl reboot");
    // The new boot's kernel banner, then the autologin shell of the new boot.
    vm.console->wait_for("Linux version", 300s, from);
    const auto booted = vm.console->log().size();
    const auto r = report(vm, booted, "reboot");
    expect_boot(r, vm, hostname);
    EXPECT_EQ(r["RUNS"], "1") << "user-data ran once, not again after the reboot";
  }
};

TEST_F(SystemdGuest, AgentPackageFromContextCd) {
  if (const auto why = prepare_systemd({"cloudtwin-agent"}); !why.empty()) GTEST_SKIP() << why;
  const auto start = Clock::now();
  const std::string host = "sd-cd";
  auto vm = create_vm(host, std::string("CONTEXT = [ SET_HOSTNAME = \"") + host +
                                "\", USER_DATA = \"#!/bin/sh\necho ran >> " + kRuns + "\" ]\n");
  const auto r = report(vm, 0, "vm create");
  expect_boot(r, vm, host);
  EXPECT_EQ(r["RUNS"], "1") << "user-data ran once";
  reboot_and_check(vm, host);
  const auto d = ct({"vm", "delete", vm.name});
  EXPECT_EQ(d.exit_code, 0) << d.output;
  std::printf("[ timing   ] AgentPackageFromContextCd %.1f s (without the image)\n",
              seconds_since(start));
}

TEST_F(SystemdGuest, AgentPackageFromMetadataServiceOnly) {
  if (const auto why = prepare_systemd({"cloudtwin-agent"}); !why.empty()) GTEST_SKIP() << why;
  const auto start = Clock::now();
  start_sandbox_with_network();
  start_metadata_service();
  const std::string host = "sd-imds";
  auto vm = create_vm(host,
                      "EC2 = [ INSTANCETYPE = \"t3.micro\", HTTP_TOKENS = \"required\" ]\n"
                      "CONTEXT_CD = NO\n");
  // The service's record says another host name than the VM's name: it is where it came from.
  const std::string hostname = "sd-imds-from-ec2";
  write_instance_record(vm, hostname, std::string("#!/bin/sh\necho ran >> ") + kRuns + "\n");
  const auto r = report(vm, 0, "vm create");
  expect_boot(r, vm, hostname);
  EXPECT_EQ(r["RUNS"], "1") << "user-data ran once";
  const auto metadata_log = read_text(work() / "metadata.log");
  EXPECT_NE(metadata_log.find("/latest/api/token"), std::string::npos) << "the agent used IMDSv2:\n"
                                                                       << tail(metadata_log);
  reboot_and_check(vm, hostname);
  const auto d = ct({"vm", "delete", vm.name});
  EXPECT_EQ(d.exit_code, 0) << d.output;
  std::printf("[ timing   ] AgentPackageFromMetadataServiceOnly %.1f s (without the image)\n",
              seconds_since(start));
}

}  // namespace
}  // namespace cloudtwin::e2e
