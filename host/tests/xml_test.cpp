// Golden strings for the libvirt XML we write, and reading network XML back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/network_xml.hpp"
#include "cloudtwin/host/vm_plan.hpp"

namespace cloudtwin::host {
namespace {

TEST(NetworkXml, Golden) {
  auto s = make_network_spec("lan", "192.168.122.0/24", "", "1.1.1.1, 9.9.9.9", "nat");
  s.hosts.push_back(
      {core::Mac::parse("02:00:c0:a8:7a:02"), core::Ipv4::parse("192.168.122.2"), "web1"});
  EXPECT_EQ(render_network_xml(s), R"(<network>
  <name>lan</name>
  <forward mode='nat'/>
  <bridge name='ct-lan' stp='on' delay='0'/>
  <dns>
    <forwarder addr='1.1.1.1'/>
    <forwarder addr='9.9.9.9'/>
  </dns>
  <ip address='192.168.122.1' prefix='24'>
    <dhcp>
      <host mac='02:00:c0:a8:7a:02' name='web1' ip='192.168.122.2'/>
    </dhcp>
  </ip>
  <ip address='169.254.169.254' prefix='32'/>
  <ip family='ipv6' address='fd00:ec2::254' prefix='128'/>
</network>
)");
  EXPECT_EQ(parse_network_xml(render_network_xml(s)), s);
  const auto iso =
      make_network_spec("a-very-long-network-name", "10.9.0.0/16", "10.9.255.254", "", "isolated");
  EXPECT_EQ(iso.bridge, "ct-a-very-long-");
  EXPECT_EQ(render_network_xml(iso).find("<forward"), std::string::npos);
  EXPECT_EQ(parse_network_xml(render_network_xml(iso)), iso);
}

// Both metadata addresses sit on the bridge; neither is the network's gateway, in whatever
// order libvirt writes the <ip> elements back.
TEST(NetworkXml, MetadataAddressesAreIgnoredWhenReadBack) {
  const auto spec = parse_network_xml(
      "<network><name>m</name><bridge name='ct-m'/>"
      "<ip family='ipv6' address='fd00:ec2::254' prefix='128'></ip>"
      "<ip address='169.254.169.254' prefix='32'/>"
      "<ip family='ipv4' address='10.1.2.1' prefix='24'><dhcp/></ip></network>");
  EXPECT_EQ(spec.gateway.to_string(), "10.1.2.1");
  EXPECT_EQ(spec.cidr.to_string(), "10.1.2.0/24");
  EXPECT_THROW(parse_network_xml("<network><name>v6</name>"
                                 "<ip family='ipv6' address='fd00:ec2::254' prefix='128'/>"
                                 "<ip address='169.254.169.254' prefix='32'/></network>"),
               Error);
}

TEST(NetworkXml, BadSpecsAndForeignXml) {
  const char* bad[][5] = {
      {"", "10.0.0.0/24", "", "", ""},
      {"a b", "10.0.0.0/24", "", "", ""},
      {"n", "10.0.0.0/31", "", "", ""},
      {"n", "10.0.0.0/24", "10.0.1.1", "", ""},
      {"n", "10.0.0.0/24", "10.0.0.255", "", ""},
      {"n", "10.0.0.0/24", "", "x", ""},
      {"n", "10.0.0.0/24", "", "", "macvtap:eth0"},
      {"n", "10.0.0/24", "", "", ""},
  };
  for (const auto& b : bad)
    EXPECT_THROW(make_network_spec(b[0], b[1], b[2], b[3], b[4]), Error) << b[0] << b[1];
  EXPECT_THROW(parse_network_xml("<network><name>x</name></network>"), Error);
  EXPECT_THROW(parse_network_xml("<network"), Error);
  const auto other = parse_network_xml(
      "<network><name>default</name><forward mode='nat'/><bridge name='virbr0'/>"
      "<ip address='192.168.122.1' netmask='255.255.255.0'><dhcp><range start='192.168.122.2' "
      "end='192.168.122.254'/></dhcp></ip></network>");
  EXPECT_EQ(other.cidr.to_string(), "192.168.122.0/24");
  EXPECT_EQ(other.bridge, "virbr0");
}

TEST(DomainXml, GoldenDirectKernelBootEc2) {
  DomainSpec s;
  s.name = "web1";
  s.uuid = "ec2a0000-0000-4000-8000-000000000001";
  s.memory_mib = 256;
  s.vcpu = 2;
  s.os = OsSpec{"/k/vmlinuz", "/k/initrd", "vda1", "console=ttyS0", ""};
  s.disks.push_back({"/img/b.qcow2", "/inst/web1/disk0.qcow2", "qcow2", "vda", false, true});
  s.disks.push_back({"", "/srv/ro.raw", "raw", "vdb", true, false});
  s.cdrom_path = "/inst/web1/context.iso";
  NicPlan n;
  n.network = "lan";
  n.ip = core::Ipv4::parse("192.168.122.3");
  n.mac = core::mac_from_ipv4(n.ip);
  s.nics.push_back(n);
  s.ec2_smbios = true;
  s.metadata_element =
      "<cloudtwin:instance "
      "xmlns:cloudtwin=\"https://cloudtwin.example.invalid/instance/1\">{}</cloudtwin:instance>";
  EXPECT_EQ(render_domain_xml(s), R"(<domain type='qemu'>
  <name>web1</name>
  <uuid>ec2a0000-0000-4000-8000-000000000001</uuid>
  <metadata>
    <cloudtwin:instance xmlns:cloudtwin="https://cloudtwin.example.invalid/instance/1">{}</cloudtwin:instance>
  </metadata>
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <sysinfo type='smbios'>
    <system>
      <entry name='manufacturer'>Amazon EC2</entry>
      <entry name='serial'>ec2a0000-0000-4000-8000-000000000001</entry>
      <entry name='uuid'>ec2a0000-0000-4000-8000-000000000001</entry>
    </system>
  </sysinfo>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>/k/vmlinuz</kernel>
    <initrd>/k/initrd</initrd>
    <cmdline>root=/dev/vda1 console=ttyS0</cmdline>
    <smbios mode='sysinfo'/>
  </os>
  <features>
    <acpi/>
  </features>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/inst/web1/disk0.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/srv/ro.raw'/>
      <target dev='vdb' bus='virtio'/>
      <readonly/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='/inst/web1/context.iso'/>
      <target dev='hda' bus='ide'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <mac address='02:00:c0:a8:7a:03'/>
      <source network='lan'/>
      <model type='virtio'/>
      <filterref filter='clean-traffic'>
        <parameter name='IP' value='192.168.122.3'/>
      </filterref>
    </interface>
    <serial type='pty'>
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
  </devices>
</domain>
)");
}

TEST(DomainXml, KvmTypeDiskBootAndEscaping) {
  DomainSpec s;
  s.type = "kvm";
  s.name = "a&b";
  s.uuid = "00000000-0000-4000-8000-000000000000";
  const auto x = render_domain_xml(s);
  EXPECT_EQ(x.rfind("<domain type='kvm'>\n  <name>a&amp;b</name>", 0), 0U) << x;
  EXPECT_NE(x.find("<boot dev='hd'/>"), std::string::npos);
  EXPECT_EQ(x.find("<metadata>"), std::string::npos);
  EXPECT_EQ(x.find("sysinfo"), std::string::npos);
  s.nwfilter = "";
  s.nics.push_back(NicPlan{});
  EXPECT_EQ(render_domain_xml(s).find("filterref"), std::string::npos);
}

// libvirt's own RNG schemas accept what we render (virt-xml-validate, libvirt-clients).
TEST(LibvirtSchema, DomainAndNetworkXmlValidate) {
  if (std::system("command -v virt-xml-validate >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "virt-xml-validate not installed (libvirt-clients)";
  }
  auto net = make_network_spec("lan", "10.0.0.0/24", "", "1.1.1.1", "nat");
  net.hosts.push_back({core::Mac::parse("02:00:0a:00:00:02"), core::Ipv4::parse("10.0.0.2"), "vm"});
  PlanInputs in;
  in.instance_id = "i-0123456789abcdef0";
  in.uuid = "ec2a0000-0000-4000-8000-000000000001";
  in.networks["lan"] = net;
  const auto plan =
      plan_vm(parse_vm_template("NAME = vm\nOS = [ KERNEL = /k, INITRD = /i, ROOT = vda ]\n"
                                "DISK = [ IMAGE = b.qcow2 ]\nNIC = [ NETWORK = lan ]\n"
                                "EC2 = [ AMI = ami-1 ]\nCONSOLE_LOG = YES\nNOCLOUD = YES"),
              in);
  const std::pair<std::string, const char*> docs[] = {{render_network_xml(net), "network"},
                                                      {plan.domain_xml, "domain"}};
  ASSERT_NE(plan.domain_xml.find("<log file="), std::string::npos);
  ASSERT_NE(plan.domain_xml.find("cidata.iso"), std::string::npos);
  for (const auto& [xml, kind] : docs) {
    char path[] = "/tmp/cloudtwin-xml-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    std::ofstream(path) << xml;
    const auto cmd = std::string("virt-xml-validate ") + path + " " + kind + " >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << kind << ":\n" << xml;
    std::remove(path);
  }
}

}  // namespace
}  // namespace cloudtwin::host
