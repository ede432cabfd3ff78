// The harness's pure parts: the qemu argv and the console-log helpers. Label unit.

#include <gtest/gtest.h>

#include "cloudtwin/vm/qemu_guest.hpp"

namespace cloudtwin::vm {
namespace {

TEST(QemuCommandLine, MinimalGuestHasNoNicNoCdAndRunsInPlace) {
  QemuGuestConfig c;
  c.kernel = "/g/vmlinuz";
  c.initrd = "/g/initrd.img";
  c.serial_log = "/t/serial.log";
  const std::vector<std::string> expected{"qemu-system-x86_64",
                                          "-M",
                                          "pc",
                                          "-accel",
                                          "tcg",
                                          "-m",
                                          "256",
                                          "-nographic",
                                          "-nodefaults",
                                          "-no-reboot",
                                          "-serial",
                                          "file:/t/serial.log",
                                          "-kernel",
                                          "/g/vmlinuz",
                                          "-initrd",
                                          "/g/initrd.img",
                                          "-append",
                                          "console=ttyS0 panic=-1"};
  EXPECT_EQ(qemu_command_line(c), expected);
}

TEST(QemuCommandLine, NamespaceTapMacCdAndCommasEscaped) {
  QemuGuestConfig c;
  c.kernel = "/g/vmlinuz";
  c.initrd = "/g/initrd.img";
  c.serial_log = "/t/a,b.log";
  c.append = "cloudtwin.keep=1";
  c.netns = "ctvm-1-0";
  c.tap = "tap0";
  c.mac = "02:00:c0:a8:7a:0a";
  c.cdrom = "/t/context.iso";
  c.memory_mb = 128;
  c.extra_args = {"-smbios", "type=1,serial=ec2"};
  const std::vector<std::string> expected{"ip",
                                          "netns",
                                          "exec",
                                          "ctvm-1-0",
                                          "qemu-system-x86_64",
                                          "-M",
                                          "pc",
                                          "-accel",
                                          "tcg",
                                          "-m",
                                          "128",
                                          "-nographic",
                                          "-nodefaults",
                                          "-no-reboot",
                                          "-serial",
                                          "file:/t/a,,b.log",
                                          "-kernel",
                                          "/g/vmlinuz",
                                          "-initrd",
                                          "/g/initrd.img",
                                          "-append",
                                          "console=ttyS0 panic=-1 cloudtwin.keep=1",
                                          "-netdev",
                                          "tap,id=n0,ifname=tap0,script=no,downscript=no",
                                          "-device",
                                          "virtio-net-pci,netdev=n0,mac=02:00:c0:a8:7a:0a,romfile=",
                                          "-drive",
                                          "file=/t/context.iso,media=cdrom,if=ide,readonly=on",
                                          "-smbios",
                                          "type=1,serial=ec2"};
  EXPECT_EQ(qemu_command_line(c), expected);
}

TEST(ConsoleLog, TextBetweenMarkers) {
  const std::string log = "noise\r\n=== B ===\r\n192.168.122.10\r\n=== E ===\r\nmore";
  EXPECT_EQ(text_between(log, "=== B ===", "=== E ==="), "192.168.122.10");
  EXPECT_EQ(text_between(log, "=== B ===", "=== X ==="), std::nullopt);
  EXPECT_EQ(text_between(log, "=== X ===", "=== E ==="), std::nullopt);
  EXPECT_EQ(text_between("=== B ====== E ===", "=== B ===", "=== E ==="), "");
}

TEST(ConsoleLog, LineValue) {
  const std::string log = "[ 1.0] x\r\nCLOUDTWIN-BOOT-SECONDS=3.38\r\nCLOUDTWIN-BOOT-SECONDS=9\n";
  EXPECT_EQ(line_value(log, "CLOUDTWIN-BOOT-SECONDS"), "3.38");
  EXPECT_EQ(line_value(log, "MISSING"), std::nullopt);
  EXPECT_EQ(line_value("XCLOUDTWIN-BOOT-SECONDS=1", "CLOUDTWIN-BOOT-SECONDS"), std::nullopt);
}

}  // namespace
}  // namespace cloudtwin::vm
