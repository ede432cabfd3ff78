// Pure planning parts: leasing, ids, references, context variables, records.
#include <gtest/gtest.h>

#include <deque>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/host/lease.hpp"
#include "cloudtwin/host/substitute.hpp"
#include "cloudtwin/host/vm_plan.hpp"
#include "cloudtwin/record/element.hpp"

namespace cloudtwin::host {
namespace {

using core::Ipv4;
using core::Ipv4Cidr;

std::set<Ipv4> ips(std::initializer_list<const char*> list) {
  std::set<Ipv4> out;
  for (const auto* s : list) out.insert(Ipv4::parse(s));
  return out;
}

TEST(Lease, LowestFreeSkippingNetworkGatewayBroadcastAndUsed) {
  struct Case {
    const char* cidr;
    const char* gateway;
    std::set<Ipv4> used;
    const char* expected;
  };
  const Case cases[] = {
      {"192.168.122.0/24", "192.168.122.1", {}, "192.168.122.2"},
      {"192.168.122.0/24", "192.168.122.1", ips({"192.168.122.2", "192.168.122.4"}),
       "192.168.122.3"},
      {"192.168.122.0/24", "192.168.122.254", {}, "192.168.122.1"},
      {"10.0.0.0/30", "10.0.0.1", {}, "10.0.0.2"},
      {"10.0.0.8/29", "10.0.0.9", ips({"10.0.0.10", "10.0.0.11", "10.0.0.12", "10.0.0.13"}),
       "10.0.0.14"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(lease_address(Ipv4Cidr::parse(c.cidr), Ipv4::parse(c.gateway), c.used, "n"),
              Ipv4::parse(c.expected))
        << c.cidr;
  }
}

TEST(Lease, ExhaustedAndBadRequests) {
  const auto cidr = Ipv4Cidr::parse("10.0.0.0/30");
  const auto gw = Ipv4::parse("10.0.0.1");
  try {
    lease_address(cidr, gw, ips({"10.0.0.2"}), "tiny");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "network 'tiny' has no free address in 10.0.0.0/30 (1 in use); delete a VM or "
                 "create a larger network");
  }
  EXPECT_THROW(lease_address(Ipv4Cidr::parse("10.0.0.1/32"), gw, {}, "x"), Error);
  const auto big = Ipv4Cidr::parse("10.0.0.0/24");
  EXPECT_NO_THROW(check_requested_address(big, gw, {}, Ipv4::parse("10.0.0.9"), "n"));
  for (const auto* bad : {"10.0.1.9", "10.0.0.0", "10.0.0.1", "10.0.0.255", "10.0.0.7"}) {
    EXPECT_THROW(check_requested_address(big, gw, ips({"10.0.0.7"}), Ipv4::parse(bad), "n"), Error)
        << bad;
  }
}

class FixedRandom : public Random {
 public:
  explicit FixedRandom(std::deque<std::uint64_t> v) : values_(std::move(v)) {}
  std::uint64_t next_u64() override {
    const auto v = values_.front();
    values_.pop_front();
    return v;
  }

 private:
  std::deque<std::uint64_t> values_;
};

TEST(Ids, InstanceIdAndUuid) {
  FixedRandom r({0x12345, 0x0123456789abcdefULL, 0xffffffffffffffffULL, 0, 0x1111, 0x2222});
  EXPECT_EQ(generate_instance_id(r), "i-50123456789abcdef");
  EXPECT_EQ(generate_uuid(r, false), "ffffffff-ffff-4fff-8000-000000000000");
  EXPECT_EQ(generate_uuid(r, true), "ec200000-0000-4111-8000-000000002222");
}

TEST(Substitute, Table) {
  SubstitutionScope s;
  s.singles = {{"NAME", "web1"}};
  s.vectors["NIC"] = {{{"IP", "10.0.0.2"}, {"NETWORK", "a"}},
                      {{"IP", "10.1.0.2"}, {"NETWORK", "b"}}};
  s.vectors["USER"] = {{{"SSH_PUBLIC_KEY", "ssh-ed25519 AAA"}}};
  const std::pair<const char*, const char*> cases[] = {
      {"$NAME", "web1"},
      {"host-$NAME.lan", "host-web1.lan"},
      {"$NIC[IP]", "10.0.0.2"},
      {"$nic[ ip ]", "10.0.0.2"},
      {"$NIC[IP, NETWORK=\"b\"]", "10.1.0.2"},
      {"$NIC[IP, NETWORK=b]", "10.1.0.2"},
      {"$NIC[IP, NETWORK=\"zz\"]", ""},
      {"$NIC[MTU]", ""},
      {"$USER[SSH_PUBLIC_KEY]", "ssh-ed25519 AAA"},
      {"$UNDEFINED", ""},
      {"cost: 5$ or $", "cost: 5$ or $"},
      {"$(reboot) `x` ${NAME}", "$(reboot) `x` ${NAME}"},
      {"$NAME$NAME", "web1web1"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(substitute_references(in, s, "T"), out) << in;
  EXPECT_THROW(substitute_references("$NIC[IP", s, "T"), Error);
  EXPECT_THROW(substitute_references("$NIC[IP, NETWORK]", s, "T"), Error);
  EXPECT_THROW(substitute_references("$NIC[]", s, "T"), Error);
}

PlanInputs inputs() {
  PlanInputs in;
  in.name = "web1";
  in.instance_id = "i-0123456789abcdef0";
  in.uuid = "ec2a0000-0000-4000-8000-000000000001";
  NetworkSpec lan;
  lan.name = "lan";
  lan.cidr = Ipv4Cidr::parse("192.168.122.0/24");
  lan.gateway = Ipv4::parse("192.168.122.1");
  lan.bridge = "ct-lan";
  in.networks["lan"] = lan;
  in.in_use["lan"] = ips({"192.168.122.2"});
  in.images_dir = "/img";
  in.instances_dir = "/inst";
  in.user_ssh_key = "ssh-ed25519 AAAA ops@host";
  return in;
}

constexpr const char* kTemplate = R"(
MEMORY = 256
DISK = [ IMAGE = "base.qcow2" ]
NIC = [ NETWORK = "lan" ]
NIC = [ NETWORK = "lan", IP = "192.168.122.50" ]
CONTEXT = [ SSH_PUBLIC_KEY = "$USER[SSH_PUBLIC_KEY]", MY_IP = "$NIC[IP, NETWORK=\"lan\"]",
            USER_DATA = "#cloud-config
hostname: x", FILES = "/srv/a.sh /srv/b.conf", EMPTY = "" ]
EC2 = [ AMI = "ami-1", KEYPAIR = "ops", INSTANCETYPE = "t3.micro" ]
)";

TEST(Plan, ContextVariablesAsOpenNebulaNamesThem) {
  const auto p = plan_vm(parse_vm_template(kTemplate), inputs());
  const core::ContextVars expected = {
      {"DISK_ID", "1"},
      {"ETH0_DNS", "192.168.122.1"},
      {"ETH0_GATEWAY", "192.168.122.1"},
      {"ETH0_IP", "192.168.122.3"},
      {"ETH0_MAC", "02:00:c0:a8:7a:03"},
      {"ETH0_MASK", "255.255.255.0"},
      {"ETH0_NETWORK", "192.168.122.0"},
      {"ETH1_DNS", "192.168.122.1"},
      {"ETH1_GATEWAY", "192.168.122.1"},
      {"ETH1_IP", "192.168.122.50"},
      {"ETH1_MAC", "02:00:c0:a8:7a:32"},
      {"ETH1_MASK", "255.255.255.0"},
      {"ETH1_NETWORK", "192.168.122.0"},
      {"MY_IP", "192.168.122.3"},
      {"NETWORK", "YES"},
      {"SET_HOSTNAME", "web1"},
      {"SSH_PUBLIC_KEY", "ssh-ed25519 AAAA ops@host"},
      {"TARGET", "hda"},
      {"USER_DATA", "I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogeA=="},
      {"USER_DATA_ENCODING", "base64"},
  };
  EXPECT_EQ(p.context, expected);
  const std::vector<std::pair<std::string, std::string>> files = {{"a.sh", "/srv/a.sh"},
                                                                  {"b.conf", "/srv/b.conf"}};
  EXPECT_EQ(p.iso_files, files);
  EXPECT_EQ(p.iso_path, "/inst/web1/context.iso");
  ASSERT_EQ(p.disks.size(), 1U);
  EXPECT_EQ(p.disks[0],
            (DiskPlan{"/img/base.qcow2", "/inst/web1/disk0.qcow2", "qcow2", "vda", false, true}));
}

TEST(Plan, NetworkNoAndUnknownNetworkAndTakenAddress) {
  auto t = parse_vm_template("NIC = [ NETWORK = lan ]\nCONTEXT = [ NETWORK = NO ]");
  const auto p = plan_vm(t, inputs());
  EXPECT_EQ(p.context.count("ETH0_IP"), 0U);
  EXPECT_EQ(p.context.at("NETWORK"), "NO");
  EXPECT_THROW(plan_vm(parse_vm_template("NIC = [ NETWORK = wan ]"), inputs()), Error);
  EXPECT_THROW(plan_vm(parse_vm_template("NIC = [ NETWORK = lan, IP = 192.168.122.2 ]"), inputs()),
               Error);
  auto in = inputs();
  in.name = "bad name";
  EXPECT_THROW(plan_vm(parse_vm_template(""), in), Error);
  in.name = "";
  EXPECT_EQ(plan_vm(parse_vm_template(""), in).name, "i-0123456789abcdef0");
  EXPECT_EQ(plan_vm(parse_vm_template("NAME = t1"), in).name, "t1");
}

// Each NIC's MAC is its IP behind its network's prefix (host.conf's when the network records
// none), and that MAC is what the domain, the context CD and the record carry.
TEST(Plan, MacsUseEachNetworksPrefix) {
  struct Case {
    const char* network_prefix;  // nullptr: the network records none
    const char* host_conf_prefix;
    const char* mac;
  };
  const Case cases[] = {
      {nullptr, "02:00", "02:00:c0:a8:7a:09"},
      {nullptr, "0a:bc", "0a:bc:c0:a8:7a:09"},
      {"0a:01", "02:00", "0a:01:c0:a8:7a:09"},
      {"52:54", "0a:bc", "52:54:c0:a8:7a:09"},
  };
  for (const auto& c : cases) {
    auto in = inputs();
    if (c.network_prefix) in.networks["lan"].mac_prefix = core::MacPrefix::parse(c.network_prefix);
    in.mac_prefix = core::MacPrefix::parse(c.host_conf_prefix);
    const auto p = plan_vm(parse_vm_template("NIC = [ NETWORK = lan, IP = 192.168.122.9 ]\n"
                                             "CONTEXT = [ M = \"$NIC[MAC]\" ]"),
                           in);
    EXPECT_EQ(p.nics.at(0).mac.to_string(), c.mac);
    EXPECT_EQ(p.context.at("ETH0_MAC"), c.mac);
    EXPECT_EQ(p.context.at("M"), c.mac);
    EXPECT_NE(p.domain_xml.find(std::string("<mac address='") + c.mac + "'/>"), std::string::npos);
    EXPECT_EQ(p.record.nics().at(0).mac.to_string(), c.mac);
    EXPECT_EQ(p.record.nics().at(0).network, "lan");
  }
}

// Overlapping ranges on networks with different prefixes: same IP, different MACs, and the
// record still tells the NICs apart. (Equal prefixes with overlapping ranges would give two
// VMs the same MAC; nothing stops that yet.)
TEST(Plan, OverlappingRangesWithDifferentPrefixesNeverShareAMac) {
  auto in = inputs();
  in.networks["lan"].mac_prefix = core::MacPrefix::parse("0a:01");
  auto lab = in.networks["lan"];
  lab.name = "lab";
  lab.bridge = "ct-lab";
  lab.mac_prefix = core::MacPrefix::parse("0a:02");
  in.networks["lab"] = lab;
  const auto p = plan_vm(parse_vm_template("NIC = [ NETWORK = lan, IP = 192.168.122.9 ]\n"
                                           "NIC = [ NETWORK = lab, IP = 192.168.122.9 ]"),
                         in);
  EXPECT_EQ(p.context.at("ETH0_MAC"), "0a:01:c0:a8:7a:09");
  EXPECT_EQ(p.context.at("ETH1_MAC"), "0a:02:c0:a8:7a:09");
  const auto nics = p.record.nics();
  ASSERT_EQ(nics.size(), 2U);
  EXPECT_EQ(nics[0].network, "lan");
  EXPECT_EQ(nics[1].network, "lab");
}

TEST(Plan, RecordJsonIsExactAndRoundTrips) {
  const auto p = plan_vm(parse_vm_template(kTemplate), inputs());
  EXPECT_EQ(
      record::instance_to_json(p.record),
      R"({"record-version":2,"instance-id":"i-0123456789abcdef0","ami-id":"ami-1",)"
      R"("instance-type":"t3.micro",)"
      R"("local-hostname":"web1","reservation-id":"r-0123456789abcdef0",)"
      R"("block-device-mapping":{"ami":"/dev/vda","root":"/dev/vda"},)"
      R"("network-interfaces":[{"mac":"02:00:c0:a8:7a:03","device-number":0,)"
      R"("local-ipv4s":["192.168.122.3"],"subnet-ipv4-cidr-block":"192.168.122.0/24"},)"
      R"({"mac":"02:00:c0:a8:7a:32","device-number":1,"local-ipv4s":["192.168.122.50"],)"
      R"("subnet-ipv4-cidr-block":"192.168.122.0/24"}],)"
      R"("public-keys":[{"name":"ops","openssh-key":"ssh-ed25519 AAAA ops@host"}],)"
      R"("user-data-base64":"I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogeA==",)"
      R"("host":{"kind":"libvirt","name":"web1","nics":[{"mac":"02:00:c0:a8:7a:03",)"
      R"("network":"lan","gateway":"192.168.122.1"},{"mac":"02:00:c0:a8:7a:32","network":"lan",)"
      R"("gateway":"192.168.122.1"}],"context-iso":"/inst/web1/context.iso",)"
      R"("overlays":["/inst/web1/disk0.qcow2"],"images":["base.qcow2"]}})");
  // The metadata server reads the very same text (and never serves `host`).
  const auto served = record::parse_instance_json(record::instance_to_json(p.record), "record");
  EXPECT_EQ(served.local_ipv4, "192.168.122.3");
  EXPECT_EQ(served.user_data, "#cloud-config\nhostname: x");
  EXPECT_EQ(p.record.nics().at(1), (record::NicRecord{core::Mac::parse("02:00:c0:a8:7a:32"),
                                                      core::Ipv4::parse("192.168.122.50"), 1, "lan",
                                                      core::Ipv4Cidr::parse("192.168.122.0/24"),
                                                      core::Ipv4::parse("192.168.122.1")}));
  EXPECT_EQ(record::parse_instance_json(record::instance_to_json(p.record), "t"), p.record);
  EXPECT_EQ(record::instance_from_element(record::instance_element(p.record), "t"), p.record);
  record::Instance odd;
  odd.instance_id = "i-1";
  odd.local_hostname = odd.hostname = "a\"b<c>&";
  odd.host.name = "a\"b<c>&";
  odd.public_keys.push_back({"k", "a\"b<c>&\n\x01"});
  EXPECT_EQ(record::instance_from_element(record::instance_element(odd), "t"), odd);
  EXPECT_THROW(record::parse_instance_json("{", "t"), Error);
  EXPECT_THROW(record::parse_instance_json("{}", "t"), Error);
  EXPECT_THROW(record::parse_instance_json(R"({"instance-id":"i-1","network-interfaces":[{"mac":)"
                                           R"("02:00:00:00:00:01","local-ipv4s":["10.0.0.2"],)"
                                           R"("subnet-ipv4-cidr-block":"10.0.0.0/33"}]})",
                                           "t"),
               Error);
}

TEST(Plan, RecordCarriesTheCreationTimeAndHostFromTheInputs) {
  auto in = inputs();
  in.created_at = record::iso8601_utc(std::chrono::system_clock::time_point(
      std::chrono::seconds(1764921600)));  // 2025-12-05T08:00:00Z
  in.host_location = "qemu:///system";
  const auto p = plan_vm(parse_vm_template(kTemplate), in);
  EXPECT_EQ(p.record.pending_time, "2025-12-05T08:00:00Z");
  EXPECT_EQ(p.record.host.location, "qemu:///system");
  // Built from the typed template, not from the rendered context variables.
  EXPECT_EQ(p.guest.hostname, "web1");
  EXPECT_EQ(p.guest.user_data, "#cloud-config\nhostname: x");
  EXPECT_EQ(p.record.user_data, p.guest.user_data);
}

TEST(Plan, RecordCarriesTheTemplatesEc2Section) {
  const auto p = plan_vm(
      parse_vm_template("EC2 = [ AMI = ami-2, AVAILABILITYZONE = eu-west-1b, TAGS = \"Name=w\",\n"
                        "  HTTP_TOKENS = required, HTTP_PUT_RESPONSE_HOP_LIMIT = 2 ]"),
      inputs());
  const auto json = record::instance_to_json(p.record);
  EXPECT_NE(json.find(R"("placement":{"availability-zone":"eu-west-1b"},)"), std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("tags":{"Name":"w"},"metadata-options":{"http-tokens":"required",)"
                      R"("http-put-response-hop-limit":2})"),
            std::string::npos)
      << json;
  record::MetadataOptions defaults;
  defaults.instance_metadata_tags = false;
  const auto served = record::parse_instance_json(json, "record", defaults);
  EXPECT_EQ(served.region, "eu-west-1");
  EXPECT_EQ(served.options.http_tokens, record::HttpTokens::Required);
  EXPECT_EQ(served.options.hop_limit, 2);
  EXPECT_FALSE(served.options.instance_metadata_tags);  // not set: the server's default
  EXPECT_EQ(record::parse_instance_json(json, "t"), p.record);
  EXPECT_THROW(record::instance_from_element("<x", "t"), Error);
}

}  // namespace
}  // namespace cloudtwin::host
