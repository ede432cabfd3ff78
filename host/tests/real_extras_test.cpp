// The new commands against real adapters: libvirt's test:///default driver, qemu-img on
// small images in a temp dir, libisofs read back with isoinfo.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <Poco/AutoPtr.h>
#include <Poco/DOM/DOMParser.h>
#include <Poco/DOM/Document.h>
#include <Poco/DOM/Element.h>
#include <Poco/DOM/NodeList.h>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/cli.hpp"
#include "cloudtwin/host/image.hpp"
#include "fakes.hpp"

#include "test_support.hpp"

namespace cloudtwin::host {
namespace {

namespace fs = std::filesystem;

using testing::have;
using testing::sh;
using testing::TempDir;

// The CLI over the real adapters, with test:///default shared across runs (its state
// lives only while a connection is open) and host.conf pointing into a temp dir.
struct RealCli {
  TempDir dir;
  fs::path images = dir.path / "images";
  fs::path instances = dir.path / "instances";
  std::unique_ptr<Hypervisor> libvirt = make_libvirt_hypervisor("test:///default");
  CliEnv env = default_cli_env();
  RealCli() {
    fs::create_directories(images);
    fs::create_directories(instances);
    std::ofstream(dir.path / "host.conf")
        << "[libvirt]\nuri = test:///default\n[storage]\nimages = " << images.string()
        << "\ninstances = " << instances.string()
        << "\n[vpn]\nstate_dir = " << (dir.path / "vpn").string() << "\n";
    env.connect = [this](const std::string&) {
      return std::make_unique<testing::HypervisorRef>(*libvirt);
    };
    env.config_path = (dir.path / "host.conf").string();
  }
  int run(std::vector<std::string> args, std::string* out = nullptr, std::string* err = nullptr) {
    std::ostringstream o, e;
    const int rc = run_cli(args, o, e, env);
    if (out != nullptr) *out = o.str();
    if (err != nullptr) *err = e.str();
    return rc;
  }
};

std::string element_text(const std::string& xml, const std::string& tag) {
  Poco::XML::DOMParser parser;
  Poco::AutoPtr<Poco::XML::Document> doc = parser.parseString(xml);
  Poco::AutoPtr<Poco::XML::NodeList> nodes = doc->getElementsByTagName(tag);
  return nodes->length() == 0 ? std::string("<none>") : nodes->item(0)->innerText();
}

TEST(RealExtras, PowerConsoleLogCidataAndCmdlineOnTestDriver) {
  if (!have("isoinfo")) GTEST_SKIP() << "isoinfo not installed (genisoimage)";
  RealCli c;
  const std::string cmd = "console=ttyS0  init=/bin/sh -- \"a b\" x=<&>' end";
  std::ofstream(c.dir.path / "vm.yaml")
      << "MEMORY: 64\nOS: {KERNEL: /k/vmlinuz, KERNEL_CMD: '"
      << "console=ttyS0  init=/bin/sh -- "
      << "\"a b\" x=<&>'' end'}\nNIC: [{NETWORK: px}]\nCONSOLE_LOG: YES\n"
         "CONTEXT: {NOCLOUD: YES, USER_DATA: \"#!/bin/sh\\necho hi\\n\"}\n";
  std::string out, err;
  ASSERT_EQ(c.run({"net", "create", "px", "--cidr", "10.9.0.0/24"}, &out, &err), 0) << err;
  ASSERT_EQ(c.run({"vm", "create", (c.dir.path / "vm.yaml").string(), "--name", "px1"}, &out, &err),
            0)
      << err;
  // What libvirt stored: the command line byte for byte, the log on the serial port.
  const auto xml = c.libvirt->domain_xml("px1");
  EXPECT_EQ(element_text(xml, "cmdline"), cmd);
  EXPECT_NE(xml.find("console.log"), std::string::npos) << xml;
  const auto cidata = (c.instances / "px1" / "cidata.iso").string();
  // ISO 9660 upper-cases the primary label; blkid (and so cloud-init) reads Joliet's "cidata".
  EXPECT_NE(sh("isoinfo -d -i " + cidata).find("Volume id: CIDATA"), std::string::npos);
  if (have("blkid")) {
    EXPECT_NE(sh("blkid -o export " + cidata).find("LABEL=cidata"), std::string::npos);
  }
  EXPECT_EQ(sh("isoinfo -R -i " + cidata + " -x /user-data"), "#!/bin/sh\necho hi\n");
  EXPECT_NE(sh("isoinfo -R -i " + cidata + " -x /meta-data").find("local-hostname: \"px1\""),
            std::string::npos);

  EXPECT_EQ(c.run({"vm", "stop", "px1", "--json"}, &out, &err), 0) << err;
  EXPECT_EQ(out, R"({"name":"px1","result":"asked to shut down","state":"shut off"})"
                 "\n");
  EXPECT_EQ(c.run({"vm", "stop", "px1"}, &out), 0);
  EXPECT_EQ(out, "VM px1 already shut off\n");
  EXPECT_EQ(c.run({"vm", "reboot", "px1"}, &out, &err), 1);
  EXPECT_EQ(err, "cloudtwin: VM 'px1' is not running; use vm start\n");
  EXPECT_EQ(c.run({"vm", "start", "px1"}, &out), 0);
  EXPECT_EQ(out, "VM px1 started\n");
  EXPECT_EQ(c.run({"vm", "reboot", "px1", "--json"}, &out, &err), 0) << err;
  EXPECT_EQ(out, R"({"name":"px1","result":"asked to reboot","state":"running"})"
                 "\n");
  EXPECT_EQ(c.run({"vm", "stop", "px1", "--force"}, &out), 0);
  EXPECT_EQ(out, "VM px1 stopped\n");
  EXPECT_EQ(c.run({"vm", "start", "px1"}), 0);
  // The test driver has no consoles: the error says so and names the VM.
  EXPECT_EQ(c.run({"vm", "console", "px1"}, &out, &err), 1);
  EXPECT_NE(err.find("cannot open the console of VM 'px1'"), std::string::npos) << err;
  EXPECT_EQ(c.run({"vm", "show", "px1"}, &out), 0);
  EXPECT_NE(out.find("console log:  " + (c.instances / "px1" / "console.log").string()),
            std::string::npos)
      << out;
  std::ofstream(c.instances / "px1" / "console.log") << "guest output\n";  // as virtlogd would
  EXPECT_EQ(c.run({"vm", "delete", "px1"}, &out, &err), 0) << err;
  EXPECT_EQ(err, "");
  EXPECT_FALSE(fs::exists(c.instances / "px1"));
  EXPECT_EQ(c.run({"net", "delete", "px"}), 0);
}

TEST(RealExtras, VpnYesWithoutInitIsRefusedCleanly) {
  RealCli c;
  std::ofstream(c.dir.path / "vm.tmpl") << "NIC = [ NETWORK = pv ]\nCONTEXT = [ VPN = YES ]\n";
  ASSERT_EQ(c.run({"net", "create", "pv", "--cidr", "10.10.0.0/24"}), 0);
  std::string err;
  EXPECT_EQ(c.run({"vm", "create", (c.dir.path / "vm.tmpl").string()}, nullptr, &err), 1);
  EXPECT_NE(err.find("VPN in " + (c.dir.path / "vpn").string() + " is not initialised"),
            std::string::npos)
      << err;
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(c.instances)) left.push_back(e.path().filename());
  EXPECT_EQ(left, std::vector<std::string>{".lock"});
  EXPECT_EQ(c.run({"net", "delete", "pv"}), 0);
}

// `cloudtwin vpn init --network NET` keeps one overlay per network in STATE_DIR/NET (the
// layout cloudtwin-vpn@NET runs): vm create finds the overlay whose LAN holds the lease.
TEST(RealExtras, VpnYesUsesThePerNetworkOverlay) {
  RealCli c;
  const auto vpn_dir = (c.dir.path / "vpn" / "pw").string();
  std::string out, err;
  ASSERT_EQ(c.run({"vpn", "init", "--network-cidr", "10.11.0.0/24", "--gateway", "10.11.0.1",
                   "--bridge", "ct-pw", "--listen", "127.0.0.1:47194", "--state-dir", vpn_dir},
                  &out, &err),
            0)
      << err;
  std::ofstream(c.dir.path / "vm.tmpl") << "NIC = [ NETWORK = pw ]\nCONTEXT = [ VPN = YES ]\n";
  ASSERT_EQ(c.run({"net", "create", "pw", "--cidr", "10.11.0.0/24"}), 0);
  ASSERT_EQ(c.run({"vm", "create", (c.dir.path / "vm.tmpl").string(), "--name", "pw1"}, &out, &err),
            0)
      << err;
  ASSERT_EQ(c.run({"vpn", "list", "--state-dir", vpn_dir}, &out, &err), 0) << err;
  EXPECT_NE(out.find("10.11.0.2"), std::string::npos) << out;
  EXPECT_NE(out.find("issued"), std::string::npos) << out;
  EXPECT_EQ(c.run({"vm", "delete", "pw1"}, &out, &err), 0) << err;
  ASSERT_EQ(c.run({"vpn", "list", "--state-dir", vpn_dir}, &out, &err), 0) << err;
  EXPECT_NE(out.find("revoked"), std::string::npos) << out;
  EXPECT_EQ(c.run({"net", "delete", "pw"}), 0);
}

TEST(RealExtras, ImageRegisterConvertsEveryFormatWithQemuImg) {
  if (!have("qemu-img")) GTEST_SKIP() << "qemu-img not installed (qemu-utils)";
  RealCli c;
  const std::pair<const char*, const char*> formats[] = {{"raw", "d.raw"},
                                                         {"qcow2", "d.qcow2"},
                                                         {"vmdk", "d.vmdk"},
                                                         {"vdi", "d.vdi"},
                                                         {"vpc", "d.vhd"}};
  for (const auto& [format, file] : formats) {
    const auto src = (c.dir.path / file).string();
    ASSERT_EQ(sh(std::string("qemu-img create -q -f ") + format + " " + src + " 8M && echo ok"),
              "ok\n");
    std::string out, err;
    ASSERT_EQ(c.run({"image", "register", src, "--name", std::string(format) + ".qcow2", "--json"},
                    &out, &err),
              0)
        << format << ": " << err;
    EXPECT_NE(out.find("\"format\":\"qcow2\""), std::string::npos) << out;
    const auto info = parse_qemu_img_info(
        sh("qemu-img info --output=json " + (c.images / (std::string(format) + ".qcow2")).string()),
        format);
    EXPECT_EQ(info.format, "qcow2") << format;
    EXPECT_GE(info.virtual_size, 8U << 20U) << format;  // vpc rounds up to its geometry
  }
  std::string out, err;
  // Progress goes to stderr, the result to stdout.
  EXPECT_EQ(c.run({"image", "register", (c.dir.path / "d.raw").string()}, &out, &err), 0) << err;
  EXPECT_EQ(out, "registered image d.qcow2 (8.0 MiB, qcow2) at " + (c.images / "d.qcow2").string() +
                     "\n");
  EXPECT_NE(err.find("100%"), std::string::npos) << err;
  EXPECT_EQ(c.run({"image", "list"}, &out), 0);
  EXPECT_NE(out.find("\nvpc.qcow2 "), std::string::npos) << out;
  std::ofstream(c.dir.path / "notes.txt") << "not a disk image at all";
  EXPECT_EQ(c.run({"image", "register", (c.dir.path / "notes.txt").string(), "--format", "vdi"},
                  nullptr, &err),
            1);
  EXPECT_NE(err.find("qemu-img info"), std::string::npos) << err;

  // In use by a VM: refused; afterwards deleted.
  std::ofstream(c.dir.path / "vm.tmpl") << "DISK = [ IMAGE = vdi.qcow2 ]\nNIC = [ NETWORK = pi ]\n";
  ASSERT_EQ(c.run({"net", "create", "pi", "--cidr", "10.11.0.0/24"}), 0);
  ASSERT_EQ(c.run({"vm", "create", (c.dir.path / "vm.tmpl").string(), "--name", "pi1"}, &out, &err),
            0)
      << err;
  EXPECT_EQ(c.run({"image", "delete", "vdi.qcow2"}, nullptr, &err), 1);
  EXPECT_EQ(err, "cloudtwin: image 'vdi.qcow2' is used by VM(s) pi1; delete them first\n");
  EXPECT_EQ(c.run({"image", "show", "vdi.qcow2"}, &out), 0);
  EXPECT_NE(out.find("used by:       pi1"), std::string::npos) << out;
  ASSERT_EQ(c.run({"vm", "delete", "pi1"}), 0);
  EXPECT_EQ(c.run({"image", "delete", "vdi.qcow2"}, &out), 0);
  EXPECT_FALSE(fs::exists(c.images / "vdi.qcow2"));
  EXPECT_EQ(c.run({"net", "delete", "pi"}), 0);
  for (const auto& e : fs::directory_iterator(c.images))
    EXPECT_NE(e.path().filename().string().front(), '.') << "left behind: " << e.path();
}

}  // namespace
}  // namespace cloudtwin::host
