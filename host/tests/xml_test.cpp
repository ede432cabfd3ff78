// Golden strings for the libvirt XML we write, and reading network XML back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/domain_xml.hpp"
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

// --mac-prefix goes into our <metadata> in every mode; without one there is no <metadata> in
// nat and isolated mode (as networks made before the prefix was recorded look).
TEST(NetworkXml, GoldenWithMacPrefix) {
  const auto s = make_network_spec("lab", "10.0.0.0/24", "", "", "isolated", "0A:01");
  EXPECT_EQ(render_network_xml(s), R"(<network>
  <name>lab</name>
  <metadata>
    <cloudtwin:network xmlns:cloudtwin="https://cloudtwin.example.invalid/network/1" mac-prefix="0a:01"/>
  </metadata>
  <bridge name='ct-lab' stp='on' delay='0'/>
  <ip address='10.0.0.1' prefix='24'>
    <dhcp>
    </dhcp>
  </ip>
  <ip address='169.254.169.254' prefix='32'/>
  <ip family='ipv6' address='fd00:ec2::254' prefix='128'/>
</network>
)");
}

TEST(NetworkXml, MacPrefixRoundTripsInEveryMode) {
  struct Case {
    const char* mode;
    const char* option;    // --mac-prefix; "" = not given
    const char* recorded;  // what parse_network_xml gives back; nullptr = none
    const char* metadata;  // expected in the XML; nullptr = no <metadata> at all
  };
  const Case cases[] = {
      {"nat", "02:00", "02:00", R"(mac-prefix="02:00"/>)"},
      {"nat", "0A:bC", "0a:bc", R"(mac-prefix="0a:bc"/>)"},
      {"isolated", "fe-ff", "fe:ff", R"(mac-prefix="fe:ff"/>)"},
      {"bridge:br0", "52:54", "52:54", R"(gateway="10.0.0.1" mac-prefix="52:54">)"},
      {"nat", "", nullptr, nullptr},
      {"isolated", "", nullptr, nullptr},
      {"bridge:br0", "", nullptr, R"(gateway="10.0.0.1">)"},
  };
  for (const auto& c : cases) {
    const auto spec = make_network_spec("lan", "10.0.0.0/24", "", "", c.mode, c.option);
    const auto xml = render_network_xml(spec);
    if (c.metadata == nullptr)
      EXPECT_EQ(xml.find("<metadata>"), std::string::npos) << xml;
    else
      EXPECT_NE(xml.find(c.metadata), std::string::npos) << xml;
    const auto back = parse_network_xml(xml);
    EXPECT_EQ(back, spec) << c.mode << " " << c.option;
    EXPECT_EQ(back.mac_prefix ? back.mac_prefix->to_string() : "none",
              c.recorded ? c.recorded : "none")
        << c.mode << " " << c.option;
  }
  // As libvirt gives it back: a uuid, another namespace prefix, someone else's metadata too.
  const auto nat = std::string(
                       "<network><name>lan</name><uuid>c83f3e28-28ba-4413-a599-85117cd8493b</uuid>"
                       "<metadata><x:y xmlns:x='urn:other' mac-prefix='0e:00'/>") +
                   "<ct:network xmlns:ct='https://cloudtwin.example.invalid/network/1' "
                   "mac-prefix='0A:02'/></metadata><forward mode='nat'/><bridge name='ct-lan'/>"
                   "<ip address='10.0.0.1' prefix='24'><dhcp/></ip></network>";
  EXPECT_EQ(parse_network_xml(nat).mac_prefix, core::MacPrefix::parse("0a:02"));
  EXPECT_EQ(parse_network_xml("<network><name>o</name><metadata><x:y xmlns:x='urn:other' "
                              "mac-prefix='0e:00'/></metadata><ip address='10.0.0.1' "
                              "prefix='24'/></network>")
                .mac_prefix,
            std::nullopt);
  // A damaged prefix names the network; a recorded one is read without the option's bit rules
  // (older cloudtwin recorded host.conf's prefix unchecked).
  try {
    parse_network_xml(
        "<network><name>lan</name><metadata><c:network "
        "xmlns:c='https://cloudtwin.example.invalid/network/1' mac-prefix='zz'/></metadata>"
        "<ip address='10.0.0.1' prefix='24'/></network>");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("libvirt network 'lan' <metadata>: MAC prefix", 0), 0U)
        << e.what();
  }
  EXPECT_EQ(parse_network_xml("<network><name>lan</name><metadata><c:network "
                              "xmlns:c='https://cloudtwin.example.invalid/network/1' "
                              "mac-prefix='01:00'/></metadata>"
                              "<ip address='10.0.0.1' prefix='24'/></network>")
                .mac_prefix,
            core::MacPrefix::parse("01:00"));
}

TEST(NetworkXml, BadMacPrefixOptions) {
  const std::pair<const char*, const char*> cases[] = {
      {"03:00",
       "--mac-prefix 03:00: the first byte 03 is a multicast (group) octet: bit 0x01 is set; use a "
       "locally administered unicast first byte (bit 0x02 set, bit 0x01 clear: x2, x6, xa or xe, "
       "such as 02, 0a, 52, fe)"},
      {"01:00", "--mac-prefix 01:00: the first byte 01 is a multicast (group) octet"},
      {"ff:ff", "--mac-prefix ff:ff: the first byte ff is a multicast (group) octet"},
      {"00:00",
       "--mac-prefix 00:00: the first byte 00 is not locally administered: bit 0x02 is clear, so "
       "MACs could clash with vendor-assigned ones; use a locally administered unicast first byte"},
      {"52:", "--mac-prefix 52:: MAC prefix"},
      {"02:00:00", "--mac-prefix 02:00:00: MAC prefix"},
      {"zz:00", "--mac-prefix zz:00: MAC prefix"},
      {"02.00", "--mac-prefix 02.00: MAC prefix"},
      {"0200", "--mac-prefix 0200: MAC prefix"},
  };
  for (const auto& [option, message] : cases) {
    for (const char* mode : {"nat", "bridge:br0"}) {
      try {
        make_network_spec("n", "10.0.0.0/24", "", "", mode, option);
        ADD_FAILURE() << option;
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
        EXPECT_EQ(std::string(e.what()).rfind(message, 0), 0U) << e.what();
      }
    }
  }
  for (const char* good : {"02:00", "06:ff", "0a:00", "0E:12", "52:54", "fe:00", "7a-bc"})
    EXPECT_EQ(parse_mac_prefix_option(good), core::MacPrefix::parse(good)) << good;
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
  auto net = make_network_spec("lan", "10.0.0.0/24", "", "1.1.1.1", "nat", "0a:01");
  net.hosts.push_back({core::Mac::parse("0a:01:0a:00:00:02"), core::Ipv4::parse("10.0.0.2"), "vm"});
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
