#include "cloudtwin/host/template.hpp"

#include <gtest/gtest.h>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::host {
namespace {

constexpr const char* kFull = R"(# a VM
NAME   = "web1"
CPU    = 0.5
VCPU   = 2
memory = 1024   # case-insensitive names
OS = [ KERNEL = "/boot/vmlinuz", INITRD = "/boot/initrd.img",
       ROOT = "vda1", KERNEL_CMD = "console=ttyS0 quiet" ]
DISK = [ IMAGE = "debian12.qcow2", TARGET = "vda" ]
DISK = [ SOURCE = "/srv/data.raw", READONLY = "yes" ]
NIC = [ NETWORK = "lan", IP = "192.168.122.10" ]
NIC = [ NETWORK = "lan" ]
CONTEXT = [
  SSH_PUBLIC_KEY = "$USER[SSH_PUBLIC_KEY]",
  ETH0_IP = "$NIC[IP]",
  START_SCRIPT = "echo \"hi\"
touch /tmp/x",
  FILES = "/srv/a.sh /srv/b.conf" ]
EC2 = [ AMI = "ami-0123", KEYPAIR = "ops", INSTANCETYPE = "t3.micro" ]
GRAPHICS = [ TYPE = "vnc" ]
)";

TEST(Template, ParsesEveryAttribute) {
  const auto t = parse_vm_template(kFull, "web.tmpl");
  EXPECT_EQ(t.name, "web1");
  EXPECT_DOUBLE_EQ(t.cpu, 0.5);
  EXPECT_EQ(t.vcpu, 2U);
  EXPECT_EQ(t.memory_mib, 1024U);
  ASSERT_TRUE(t.os);
  EXPECT_EQ(*t.os,
            (OsSpec{"/boot/vmlinuz", "/boot/initrd.img", "vda1", "console=ttyS0 quiet", ""}));
  ASSERT_EQ(t.disks.size(), 2U);
  EXPECT_EQ(t.disks[0], (DiskSpec{"debian12.qcow2", "", "vda", false}));
  EXPECT_EQ(t.disks[1], (DiskSpec{"", "/srv/data.raw", "", true}));
  ASSERT_EQ(t.nics.size(), 2U);
  EXPECT_EQ(t.nics[0].network, "lan");
  EXPECT_EQ(t.nics[0].ip, core::Ipv4::parse("192.168.122.10"));
  EXPECT_FALSE(t.nics[1].ip);
  const std::vector<std::pair<std::string, std::string>> ctx = {
      {"SSH_PUBLIC_KEY", "$USER[SSH_PUBLIC_KEY]"},
      {"ETH0_IP", "$NIC[IP]"},
      {"START_SCRIPT", "echo \"hi\"\ntouch /tmp/x"},
      {"FILES", "/srv/a.sh /srv/b.conf"}};
  EXPECT_EQ(t.context, ctx);
  ASSERT_TRUE(t.ec2);
  Ec2Spec want;
  want.ami = "ami-0123";
  want.keypair = "ops";
  want.instance_type = "t3.micro";
  EXPECT_EQ(*t.ec2, want);
}

TEST(Template, Ec2MetadataOptionsPlacementAndTags) {
  const auto t = parse_vm_template(
      "EC2 = [ AMI = ami-1, AVAILABILITYZONE = eu-west-1b, TAGS = \"Name=web,Env=dev\",\n"
      "  SECURITYGROUPS = \"web,ssh\", HTTP_TOKENS = required, HTTP_ENDPOINT = enabled,\n"
      "  HTTP_PUT_RESPONSE_HOP_LIMIT = 2, INSTANCE_METADATA_TAGS = disabled ]");
  ASSERT_TRUE(t.ec2);
  EXPECT_EQ(t.ec2->availability_zone, "eu-west-1b");
  EXPECT_EQ(t.ec2->tags,
            (std::vector<std::pair<std::string, std::string>>{{"Name", "web"}, {"Env", "dev"}}));
  EXPECT_EQ(t.ec2->security_groups, (std::vector<std::string>{"web", "ssh"}));
  EXPECT_EQ(t.ec2->http_tokens, "required");
  EXPECT_EQ(t.ec2->http_endpoint, "enabled");
  EXPECT_EQ(t.ec2->http_put_response_hop_limit, 2);
  EXPECT_EQ(t.ec2->instance_metadata_tags, "disabled");
  for (const char* bad :
       {"EC2 = [ HTTP_TOKENS = maybe ]", "EC2 = [ HTTP_PUT_RESPONSE_HOP_LIMIT = 65 ]",
        "EC2 = [ TAGS = \"=x\" ]", "EC2 = [ TAGS = \"a=b,\" ]"}) {
    EXPECT_THROW(parse_vm_template(bad), ParseError) << bad;
  }
}

TEST(Template, YamlGivesTheSameModel) {
  constexpr const char* kYaml = R"(NAME: web1
CPU: 0.5
VCPU: 2
memory: 1024
OS: {KERNEL: /boot/vmlinuz, INITRD: /boot/initrd.img, ROOT: vda1, KERNEL_CMD: console=ttyS0 quiet}
DISK:
  - {IMAGE: debian12.qcow2, TARGET: vda}
  - {SOURCE: /srv/data.raw, READONLY: "yes"}
NIC:
  - {NETWORK: lan, IP: 192.168.122.10}
  - NETWORK: lan
CONTEXT:
  SSH_PUBLIC_KEY: $USER[SSH_PUBLIC_KEY]
  ETH0_IP: $NIC[IP]
  START_SCRIPT: |-
    echo "hi"
    touch /tmp/x
  FILES: /srv/a.sh /srv/b.conf
EC2: {AMI: ami-0123, KEYPAIR: ops, INSTANCETYPE: t3.micro}
)";
  EXPECT_EQ(parse_vm_template_yaml(kYaml), parse_vm_template(kFull));
  EXPECT_EQ(parse_vm_template_auto(kYaml, "x.yaml"), parse_vm_template(kFull));
}

TEST(Template, Defaults) {
  const auto t = parse_vm_template("");
  EXPECT_EQ(t.vcpu, 1U);
  EXPECT_EQ(t.memory_mib, 512U);
  EXPECT_TRUE(t.nics.empty());
  EXPECT_FALSE(t.ec2);
}

TEST(Template, AttributesKeepOrderAndPositions) {
  const auto attrs = parse_template_attrs("A = 1\n  b = [ x = \"y\" ,\n z=w ]\n");
  ASSERT_EQ(attrs.size(), 2U);
  EXPECT_EQ(attrs[0].name, "A");
  EXPECT_EQ(attrs[0].value, "1");
  EXPECT_EQ(attrs[1].name, "B");
  EXPECT_EQ(attrs[1].pos, (SourcePos{2, 3}));
  ASSERT_EQ(attrs[1].pairs.size(), 2U);
  EXPECT_EQ(attrs[1].pairs[0], (TemplatePair{"X", "y", {2, 13}}));
  EXPECT_EQ(attrs[1].pairs[1], (TemplatePair{"Z", "w", {3, 4}}));
}

TEST(Template, BackslashesOutsideEscapesAreKept) {
  const auto attrs = parse_template_attrs(R"(A = "c:\dir \"q\" \\")");
  EXPECT_EQ(attrs.at(0).value, R"(c:\dir "q" \)");
}

struct ErrorCase {
  const char* text;
  std::size_t line;
  std::size_t column;
  const char* reason_contains;
};

TEST(Template, ErrorsHaveLineAndColumn) {
  const ErrorCase cases[] = {
      {"CPU 1", 1, 5, "expected '=' after CPU"},
      {"CPU =\n", 1, 6, "expected a value for CPU"},
      {"CPU = 1 2", 1, 9, "expected end of line"},
      {"= 1", 1, 1, "expected an attribute name"},
      {"A = \"open\nstill", 1, 5, "unterminated string for A"},
      {"NIC = [ NETWORK = lan", 1, 22, "unterminated vector NIC"},
      {"NIC = [ NETWORK = lan IP = x ]", 1, 23, "expected ',' or ']'"},
      {"NIC = [ = 1 ]", 1, 9, "expected a key inside NIC"},
      {"CPU = 1\nCPU = 2", 2, 1, "CPU is given more than once"},
      {"MEMORY = lots", 1, 1, "MEMORY must be a positive whole number"},
      {"VCPU = 0", 1, 1, "VCPU must be a positive whole number"},
      {"CPU = -1", 1, 1, "CPU must be a positive number"},
      {"CPU = [ A = 1 ]", 1, 1, "CPU takes a single value"},
      {"NIC = lan", 1, 1, "NIC takes a vector value"},
      {"NIC = [ IP = \"10.0.0.5\" ]", 1, 1, "NIC needs NETWORK"},
      {"\n\nNIC = [ NETWORK = lan,\n  IP = \"10.0.0.300\" ]", 4, 8,
       "NIC/IP is not an IPv4 address"},
      {"DISK = [ TARGET = vda ]", 1, 1, "DISK needs exactly one of IMAGE"},
      {"DISK = [ IMAGE = a, SOURCE = /b ]", 1, 1, "DISK needs exactly one of IMAGE"},
      {"DISK = [ IMAGE = a, READONLY = maybe ]", 1, 32, "DISK/READONLY must be YES or NO"},
      {"OS = [ INITRD = /i ]", 1, 1, "without KERNEL"},
      {"CONTEXT = [ 9LIVES = x ]", 1, 22, "not a shell variable name"},
      {"A = \x01", 1, 5, "expected a value for A, found byte 1"},
  };
  for (const auto& c : cases) {
    try {
      parse_vm_template(c.text, "t.tmpl");
      ADD_FAILURE() << "no error for: " << c.text;
    } catch (const ParseError& e) {
      EXPECT_EQ(e.source(), "t.tmpl");
      EXPECT_EQ(e.line(), c.line) << c.text << " -> " << e.what();
      EXPECT_EQ(e.column(), c.column) << c.text << " -> " << e.what();
      EXPECT_NE(e.reason().find(c.reason_contains), std::string::npos)
          << c.text << " -> " << e.what();
    }
  }
}

TEST(Template, YamlErrorsHaveLineAndColumn) {
  const ErrorCase cases[] = {
      {"CPU: [1, 2]\n", 1, 7, "CPU list items must be mappings"},
      {"CPU: {A: 1}\n", 1, 6, "CPU takes a single value"},
      {"NIC: {NETWORK: [a]}\n", 1, 16, "NIC/NETWORK must be a single value"},
      {"- a\n- b\n", 1, 1, "must be a mapping"},
      {"NIC:\n  - NETWORK: lan\n    IP: 10.0.0.999\n", 3, 9, "NIC/IP is not an IPv4 address"},
      {"NIC:\n  - 5\n", 2, 5, "NIC list items must be mappings"},
      {"A: [unclosed\n", 2, 1, ""},
      {"MEMORY: x\n", 1, 1, "MEMORY must be a positive whole number"},
  };
  for (const auto& c : cases) {
    try {
      parse_vm_template_yaml(c.text, "t.yaml");
      ADD_FAILURE() << "no error for: " << c.text;
    } catch (const ParseError& e) {
      EXPECT_EQ(e.line(), c.line) << c.text << " -> " << e.what();
      EXPECT_EQ(e.column(), c.column) << c.text << " -> " << e.what();
      EXPECT_NE(e.reason().find(c.reason_contains), std::string::npos)
          << c.text << " -> " << e.what();
    }
  }
}

}  // namespace
}  // namespace cloudtwin::host
