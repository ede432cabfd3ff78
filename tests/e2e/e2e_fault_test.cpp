// End to end under faults (issue 7, "Bad input / faults"), through the public commands: the
// metadata service crashing and coming back while a guest boots, a corrupt context CD, and a
// reboot that must not run user-data again. Label vm; needs root.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "e2e_fixture.hpp"

namespace cloudtwin::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// user-data that leaves /run/marker (volatile) and appends a line to `runs_file`.
std::string user_data_script(const std::string& marker, const std::string& runs_file) {
  return "#!/bin/sh\necho " + marker + " > /run/marker\necho ran >> " + runs_file + "\n";
}

void expect_ec2_ok(const Flat& flat, const std::string& json) {
  EXPECT_EQ(value(flat, "stages.local.datasource"), "\"ec2\"") << json;
  EXPECT_EQ(value(flat, "stages.final.datasource"), "\"ec2\"") << json;
  EXPECT_EQ(value(flat, "stages.local.ok"), "true") << json;
  EXPECT_EQ(value(flat, "stages.final.ok"), "true") << json;
}

int local_stage_ms(const Flat& flat) {
  try {
    return std::stoi(value(flat, "stages.local.duration-ms"));
  } catch (const std::exception&) {
    return -1;
  }
}

// (a) The service is SIGKILLed before the guest's agent first asks it, and started again
// (same records dir) while the agent is in its retry loop. The agent must get everything.
TEST_F(E2e, MetadataServiceKilledAndRestartedWhileGuestBoots) {
  if (const auto why = prepare(); !why.empty()) GTEST_SKIP() << why;
  start_sandbox_with_network();
  start_metadata_service("metadata-1.log");
  const std::string marker = "survived-restart";

  CdChange no_cd;
  no_cd.eject = true;
  auto vm = create_tiny_vm("imds-restart", "", "", no_cd, "");
  write_instance_record(vm, "imds-restart", user_data_script(marker, "/run/runs"));
  vm.marker = marker;
  kill_metadata_service();
  const auto killed = Clock::now();
  // The agent starts ~1-2 s after /init (module loading); leave it 5 s of refused connections.
  vm.console->wait_for("Run /init", 90s);
  std::this_thread::sleep_for(5s);
  start_metadata_service("metadata-2.log");
  const double down_s = seconds_since(killed);
  std::printf("[ fault    ] cloudtwin-metadata down for %.1f s while the guest booted\n", down_s);

  const auto status = boot_and_read_status(vm);
  const auto flat = flatten_json(status.json);
  expect_ec2_ok(flat, status.json);
  // It waited: a local stage against a live service takes well under a second.
  const int local_ms = local_stage_ms(flat);
  std::printf("[ fault    ] agent local stage %d ms (waited for the service)\n", local_ms);
  EXPECT_GE(local_ms, 2000) << "the agent did not meet the outage; move the restart later\n"
                            << status.json;
  const auto before = read_text(work() / "metadata-1.log");
  const auto after = read_text(work() / "metadata-2.log");
  EXPECT_EQ(before.find(" 10.77."), std::string::npos)
      << "the guest reached the first service before it was killed:\n"
      << before;
  EXPECT_NE(after.find("/latest/api/token"), std::string::npos) << "IMDSv2 token:\n" << after;
  EXPECT_NE(after.find("user-data"), std::string::npos) << after;

  check_guest_state(vm);  // hostname, address, SSH key, user-data marker: nothing lost
  const auto from = vm.console->log().size();
  vm.console->send("echo \"@@\"\"RUNS=$(wc -l < /run/runs)\"");
  const auto log = vm.console->wait_for("@@RUNS=", 20s, from);
  EXPECT_NE(log.find("@@RUNS=1", from), std::string::npos) << "user-data ran exactly once:\n"
                                                           << log.substr(from);
  delete_and_check_nothing_left(vm.name);
}

// (b) A CD the agent cannot use: labelled CONTEXT but with a context.sh that does not parse,
// and the VM's own CD truncated after its volume descriptors. The agent reports why and
// takes its context from the metadata service instead.
TEST_F(E2e, CorruptContextCdFallsBackToMetadataService) {
  if (const auto why = prepare(); !why.empty()) GTEST_SKIP() << why;
  if (!vm::find_program("genisoimage")) GTEST_SKIP() << "genisoimage is not installed";
  start_sandbox_with_network();
  start_metadata_service();

  // Malformed: an unterminated quote on line 2.
  const auto src = work() / "bad-cd";
  fs::create_directories(src);
  std::ofstream(src / "context.sh") << "# Context variables\nSET_HOSTNAME='bad-cd\n"
                                    << "ETH0_IP='10.77.0.99'\n";
  const auto malformed = work() / "malformed.iso";
  vm::run_checked({"genisoimage", "-quiet", "-V", "CONTEXT", "-J", "-R", "-o", malformed.string(),
                   src.string()});
  ::chmod(malformed.c_str(), 0644);

  // Truncated: a real context CD (the one `vm create` made for an earlier VM) cut after its
  // volume descriptors (sectors 16-17), so blkid still sees the label but no directory.
  const auto truncated = work() / "truncated.iso";
  {
    auto donor = create_tiny_vm("cd-donor", "", "SET_HOSTNAME = \"donor\"");
    const auto iso = work() / "instances" / "cd-donor" / "context.iso";
    ASSERT_TRUE(fs::exists(iso)) << "where does vm create put the CD? " << iso;
    fs::copy_file(iso, truncated);
    fs::resize_file(truncated, 18 * 2048);
    ::chmod(truncated.c_str(), 0644);
    const auto r = ct({"vm", "delete", donor.name});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }

  struct Case {
    std::string name;
    fs::path iso;
    std::string why;  // what the agent must say about the CD on its console
  };
  const Case cases[] = {{"cd-malformed", malformed, "context.sh:"},
                        {"cd-truncated", truncated, "ISO"}};
  std::vector<Vm> vms;
  for (const auto& c : cases) {
    CdChange cd;
    cd.replace_with = c.iso;
    vms.push_back(create_tiny_vm(c.name, "", "SET_HOSTNAME = \"from-cd\"", cd, ""));
    write_instance_record(vms.back(), c.name + "-ec2", user_data_script(c.name, "/run/runs"));
    vms.back().hostname = c.name + "-ec2";
    vms.back().marker = c.name;
  }
  for (std::size_t i = 0; i < vms.size(); ++i) {
    auto& vm = vms[i];
    const auto status = boot_and_read_status(vm);
    const auto flat = flatten_json(status.json);
    expect_ec2_ok(flat, status.json);
    const auto log = vm.console->log();
    const auto at = log.find("cloudtwin-agent: context");
    ASSERT_NE(at, std::string::npos) << "the agent said nothing about the bad CD:\n" << log;
    const auto line = log.substr(at, log.find('\n', at) - at);
    std::printf("[ fault    ] %s: %s\n", vm.name.c_str(), line.c_str());
    EXPECT_NE(line.find(cases[i].why), std::string::npos) << line;
    check_guest_state(vm);
  }
  for (const auto& vm : vms) {
    const auto r = ct({"vm", "delete", vm.name});
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
  for (const auto& vm : vms) expect_nothing_left(vm.name);
}

// (c) Reboot: user-data runs once per instance. The tiny guest's root is an initramfs (RAM),
// so its agent state lives on a small ext4 disk (cloudtwin.state=/dev/vda), like /var on a
// real image; the CD stays in, so the second boot sees the same instance.
TEST_F(E2e, RebootDoesNotRunUserDataAgain) {
  if (const auto why = prepare(); !why.empty()) GTEST_SKIP() << why;
  if (!vm::find_program("mkfs.ext4") || !vm::find_program("debugfs"))
    GTEST_SKIP() << "e2fsprogs (mkfs.ext4, debugfs) is not installed";
  const auto state = work() / "state.raw";
  vm::run_checked({"mkfs.ext4", "-q", "-F", "-L", "ctstate", state.string(), "16M"});
  const std::string runs = "/var/lib/cloudtwin-agent/user-data-runs";

  auto vm =
      create_tiny_vm("reboot-once", "cloudtwin.state=/dev/vda",
                     "USER_DATA = \"#!/bin/sh\necho once > /run/marker\necho ran >> " + runs + "\"",
                     CdChange{}, "DISK = [ SOURCE = \"" + state.string() + "\" ]\n");
  vm.marker = "once";
  const auto first = boot_and_read_status(vm);
  EXPECT_NE(vm.console->log().find("agent state on /dev/vda"), std::string::npos)
      << "the guest did not mount its state disk:\n"
      << vm.console->log();
  check_guest_state(vm);

  // A guest-initiated reboot (the tiny guest's PID 1 is a shell: it ignores ACPI).
  const auto from = vm.console->log().size();
  const auto rebooted = Clock::now();
  vm.console->send("sync; reboot -f");
  const auto second = boot_and_read_status(vm, from);
  std::printf("[ timing   ] reboot -> status %.2f s\n", seconds_since(rebooted));
  const auto flat1 = flatten_json(first.json);
  const auto flat2 = flatten_json(second.json);
  EXPECT_EQ(value(flat2, "stages.final.ok"), "true") << second.json;
  EXPECT_EQ(value(flat1, "stages.final.instance-id"), value(flat2, "stages.final.instance-id"));
  std::printf("[ reboot   ] user-data step: first boot %s, after reboot %s\n",
              step_result(flat1, "final", "user-data").c_str(),
              step_result(flat2, "final", "user-data").c_str());
  EXPECT_NE(step_result(flat1, "final", "user-data"), step_result(flat2, "final", "user-data"))
      << "the status should tell a first run from a skipped one:\n"
      << second.json;

  vm.console->wait_for(kShellUp, 30s, from);
  const auto ask = vm.console->log().size();
  vm.console->send("echo \"@@\"\"RUNS=$(wc -l < " + runs +
                   ")\"; echo \"@@\"\"MARK=$(cat /run/marker 2>&1)\"");
  const auto log = vm.console->wait_for("@@MARK=", 20s, ask);
  EXPECT_NE(log.find("@@RUNS=1", ask), std::string::npos) << log.substr(ask);
  EXPECT_EQ(log.find("@@MARK=once", ask), std::string::npos)
      << "/run/marker is back after the reboot: user-data ran again\n"
      << log.substr(ask);
  delete_and_check_nothing_left(vm.name);

  // The disk itself, read on the host without mounting it.
  const auto on_disk =
      vm::run_command({"debugfs", "-R", "cat /user-data-runs", state.string()}, 20s);
  EXPECT_EQ(count(on_disk.output, "ran"), 1u) << on_disk.output;
}

}  // namespace
}  // namespace cloudtwin::e2e
