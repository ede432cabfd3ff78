// Boots the tiny guest (scripts/build-tiny-guest.sh) under QEMU/TCG in a throwaway network
// namespace: the context CD's ETH0_IP reaches the guest, eth0 gets the MAC-derived
// address, and the guest answers a ping from the namespace. Label vm.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "cloudtwin/core/mac_ip.hpp"
#include "cloudtwin/vm/net_ns.hpp"
#include "cloudtwin/vm/process.hpp"
#include "cloudtwin/vm/qemu_guest.hpp"

namespace cloudtwin::vm {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kReady = "=== CLOUDTWIN-GUEST-READY ===";
constexpr const char* kIpBegin = "=== CLOUDTWIN-ETH0-IP-BEGIN ===";
constexpr const char* kIpEnd = "=== CLOUDTWIN-ETH0-IP-END ===";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Why this machine cannot boot a guest (on a tap when `network`), or "" when it can.
std::string missing_prerequisite(bool network) {
  if (network && geteuid() != 0) return "needs root (network namespaces, taps)";
  if (network && access("/dev/net/tun", R_OK | W_OK) != 0) return "/dev/net/tun is missing";
  for (const char* program : {"qemu-system-x86_64", "ip", "genisoimage", "busybox"}) {
    if (!find_program(program)) {
      return std::string(program) + " is not installed (scripts/install-deps.sh installs it)";
    }
  }
  return "";
}

class TinyGuest : public ::testing::Test {
 protected:
  // Builds the guest unless it is up to date; returns why the test cannot run, or "".
  std::string prepare(bool network) {
    if (auto why = missing_prerequisite(network); !why.empty()) return why;
    const auto start = Clock::now();
    // Instant when up to date; the first run downloads the kernel package (~70 MB).
    const auto out = run_checked(
        {CLOUDTWIN_SOURCE_DIR "/scripts/build-tiny-guest.sh", CLOUDTWIN_GUEST_DIR}, 300s);
    std::printf("[ timing   ] guest build %.2f s: %s", seconds_since(start), out.c_str());
    return "";
  }

  // A context CD with context.sh, made the way the host CLI makes it (genisoimage).
  std::filesystem::path make_context_iso(const std::string& context_sh) {
    const auto dir = tmp_.path() / "context";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "context.sh") << context_sh;
    const auto iso = tmp_.path() / "context.iso";
    run_checked(
        {"genisoimage", "-quiet", "-V", "CONTEXT", "-J", "-R", "-o", iso.string(), dir.string()});
    return iso;
  }

  QemuGuestConfig guest_config(const std::string& append) {
    QemuGuestConfig config;
    config.kernel = std::filesystem::path(CLOUDTWIN_GUEST_DIR) / "vmlinuz";
    config.initrd = std::filesystem::path(CLOUDTWIN_GUEST_DIR) / "initrd.img";
    config.append = append;
    config.serial_log = tmp_.path() / "serial.log";
    return config;
  }

  TempDir tmp_{"cloudtwin-tiny-guest"};
};

TEST_F(TinyGuest, ContextCdAddressFromMacAndAnswersPing) {
  if (const auto why = prepare(/*network=*/true); !why.empty()) GTEST_SKIP() << why;
  const auto ip = core::Ipv4::parse("192.168.122.10");
  const auto mac = core::mac_from_ipv4(ip).to_string();
  const auto iso = make_context_iso("ETH0_MAC='" + mac + "'\nETH0_IP='" + ip.to_string() + "'\n");

  NetNs ns;  // destroyed after the guest: qemu's tap goes away with it
  ns.add_bridge("br0", "192.168.122.1/24");
  ns.add_tap("tap0", "br0");

  auto config = guest_config("cloudtwin.keep=1");  // stay up to answer the ping
  config.netns = ns.name();
  config.tap = "tap0";
  config.mac = mac;
  config.cdrom = iso;
  const auto boot_start = Clock::now();
  QemuGuest guest(config);
  const auto log = guest.wait_for(kReady, 75s);
  const double boot_to_ready = seconds_since(boot_start);

  EXPECT_EQ(text_between(log, kIpBegin, kIpEnd).value_or("<no ETH0_IP markers>"), ip.to_string())
      << log;
  EXPECT_NE(log.find("eth0 " + mac + " -> " + ip.to_string() + "/24"), std::string::npos) << log;
  const auto guest_seconds = line_value(log, "CLOUDTWIN-BOOT-SECONDS");
  ASSERT_TRUE(guest_seconds.has_value()) << log;
  const double uptime = std::stod(*guest_seconds);
  EXPECT_GT(uptime, 0.0);
  EXPECT_LT(uptime, boot_to_ready + 1.0) << "the guest's uptime cannot exceed the wall time";
  std::printf("[ timing   ] boot-to-ready %.2f s wall, %.2f s guest uptime\n", boot_to_ready,
              uptime);
  RecordProperty("boot_to_ready_ms", static_cast<int>(boot_to_ready * 1000));
  RecordProperty("guest_uptime_ms", static_cast<int>(uptime * 1000));

  // The address is set before READY is printed; the retry only absorbs a slow first ARP.
  CommandResult ping;
  for (int attempt = 0; attempt < 3; ++attempt) {
    ping = ns.exec({"busybox", "ping", "-c1", "-W2", ip.to_string()}, 10s);
    if (ping.exit_code == 0) break;
  }
  EXPECT_EQ(ping.exit_code, 0) << "no ping reply from the guest at " << ip.to_string() << ":\n"
                               << ping.output << "\n--- serial log ---\n"
                               << guest.log();
}

TEST_F(TinyGuest, PowersOffByItselfWithoutKeep) {
  if (const auto why = prepare(/*network=*/false); !why.empty()) GTEST_SKIP() << why;
  const auto iso = make_context_iso("ETH0_IP='192.168.122.20'\n");
  auto config = guest_config("");  // no NIC, no namespace: nothing leaves qemu
  config.cdrom = iso;
  QemuGuest guest(config);
  const auto log = guest.wait_for(kIpEnd, 75s);
  EXPECT_EQ(text_between(log, kIpBegin, kIpEnd), "192.168.122.20");
  const auto status = guest.wait_exit(20s);
  ASSERT_TRUE(status.has_value()) << "qemu still runs 20 s after the guest's work ended:\n"
                                  << guest.log();
  EXPECT_EQ(*status, 0) << guest.qemu_stderr();
  EXPECT_NE(guest.log().find("reboot: Power down"), std::string::npos) << guest.log();
}

}  // namespace
}  // namespace cloudtwin::vm
