// The EC2 host (host/src/ec2_host.cpp) against the EC2 test endpoint: the whole life of a
// VM (key pair import, security group for AUTHORIZED_PORTS, Elastic IP, user-data, stop,
// start, reboot, delete leaving nothing), throttling retried, a bad AMI leaving nothing,
// and a `vm create` process killed between RunInstances and its record, whose rerun finds
// the instance by its ClientToken instead of starting a second.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cloudtwin/aws/adapters/beast_http_client.hpp"
#include "cloudtwin/aws/adapters/openssl_crypto.hpp"
#include "cloudtwin/core/user_data.hpp"
#include "cloudtwin/ec2test/memory_records.hpp"
#include "cloudtwin/ec2test/server.hpp"
#include "cloudtwin/host/ec2_host.hpp"
#include "cloudtwin/host/ec2_user_data.hpp"

namespace cloudtwin::ec2test {
namespace {

using host::Ec2Host;

class NoWait : public aws::Ec2Timing {
 public:
  std::string amz_date() override { return "20261205T080000Z"; }
  void sleep(std::chrono::milliseconds) override {}
  double random_unit() override { return 0.5; }
};

// The service called in-process (the Beast transport is tested by client_endpoint_test).
class Direct : public aws::HttpClient {
 public:
  explicit Direct(Ec2Service& s) : s_(s) {}
  aws::HttpResponse send(const aws::Url& endpoint, const aws::HttpRequest& request) override {
    auto r = request;
    r.headers.emplace_back("host", endpoint.host_header());
    return s_.handle(r);
  }

 private:
  Ec2Service& s_;
};

class RecordsRef : public host::Ec2RecordStore {
 public:
  explicit RecordsRef(host::Ec2RecordStore& r) : r_(r) {}
  std::vector<record::Instance> load() override { return r_.load(); }
  void save(const record::Instance& r) override { r_.save(r); }
  void erase(const std::string& vm) override { r_.erase(vm); }

 private:
  host::Ec2RecordStore& r_;
};

class CountingRandom : public host::Random {
 public:
  std::uint64_t next_u64() override { return 0x1234567890ULL * ++n_; }

 private:
  std::uint64_t n_ = 0;
};

class FakeVpn : public host::VpnIssuer {
 public:
  std::set<std::string> issued;
  std::string state_dir() override { return "/vpn"; }
  bool initialised() override { return true; }
  std::string issue(const std::string& id, const std::string& ip) override {
    issued.insert(id);
    return "client\ndev tap\nremote vpn.example 1194\n# " + ip + "\n";
  }
  void revoke(const std::string& id) override {
    if (issued.erase(id) == 0) throw Error(ErrorCode::NotFound, "no profile " + id);
  }
};

struct World {
  aws::OpenSslCrypto crypto;
  Ec2Service service{crypto, {}};
  MemoryRecords records;
  FakeVpn vpn_state;

  std::unique_ptr<Ec2Host> host(std::unique_ptr<aws::HttpClient> http = nullptr,
                                host::Ec2RecordStore* store = nullptr,
                                const std::string& endpoint = "http://127.0.0.1:1/") {
    host::Ec2Adapters a;
    a.http = http ? std::move(http) : std::make_unique<Direct>(service);
    a.crypto = std::make_unique<aws::OpenSslCrypto>();
    a.timing = std::make_unique<NoWait>();
    a.records = std::make_unique<RecordsRef>(store ? *store : records);
    a.random = std::make_unique<CountingRandom>();
    a.credentials = [] {
      return aws::Credentials{"AKIDCLOUDTWINTEST", "cloudtwin/test+secret", "", "test"};
    };
    host::Ec2Config c;
    c.region = "us-east-1";
    c.endpoint = endpoint;
    c.max_instances = {{"t3.micro", 4}, {"m5.large", 1}};
    return std::make_unique<Ec2Host>("ec2", c, std::move(a));
  }
};

constexpr const char* kWeb =
    "NAME = web\n"
    "CONTEXT = [ SSH_PUBLIC_KEY = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample ops@host\",\n"
    "  USER_DATA = \"#!/bin/sh\necho hello\n\" ]\n"
    "EC2 = [ AMI = ami-0cloudtwin0test0, KEYPAIR = ops, INSTANCETYPE = t3.micro,\n"
    "  ELASTICIP = YES, AUTHORIZED_PORTS = \"22,8000-8080\", TAGS = \"Env=dev\",\n"
    "  HTTP_TOKENS = required ]\n";

TEST(Ec2Host, LifecycleLeavesNothing) {
  World w;
  auto h = w.host();
  const auto vm = h->create(host::parse_vm_template(kWeb), {"", "", "--on ec2: test"});
  ASSERT_TRUE(vm.record);
  const auto& r = *vm.record;
  EXPECT_EQ(vm.name, "web");
  EXPECT_EQ(r.host.kind, "ec2");
  EXPECT_EQ(r.host.location, "ec2:us-east-1");
  EXPECT_EQ(r.host.placement, "--on ec2: test");
  EXPECT_EQ(r.host.imported_key_pair, "ops");
  EXPECT_TRUE(r.host.elastic_ip_owned);

  const auto launched = w.service.instances();
  ASSERT_EQ(launched.size(), 1U);
  const auto& li = launched[0];
  EXPECT_EQ(r.host.provider_id, li.instance.instance_id);
  EXPECT_EQ(li.instance.client_token, r.instance_id);  // the rerun's way back
  EXPECT_EQ(li.instance.key_name, "ops");
  EXPECT_EQ(li.metadata_options.http_tokens, "required");
  EXPECT_EQ(li.instance.security_group_ids, std::vector<std::string>{r.host.security_group});
  EXPECT_EQ(w.service.security_groups().at(0).ingress.size(), 2U);
  EXPECT_EQ(w.service.addresses().at(0).address.instance_id, li.instance.instance_id);
  EXPECT_EQ(r.public_ipv4, w.service.addresses().at(0).address.public_ip);
  EXPECT_EQ(w.service.key_pairs().at(0).key_name, "ops");
  // The user-data: our cloud-config, then the template's script.
  const auto parts = core::parse_user_data(li.user_data);
  ASSERT_EQ(parts.size(), 2U);
  EXPECT_NE(parts[0].content.find("hostname: web"), std::string::npos) << parts[0].content;
  EXPECT_EQ(parts[1].content, "#!/bin/sh\necho hello\n");

  EXPECT_EQ(h->state("web"), host::VmState::Running);
  EXPECT_EQ(h->list().size(), 1U);
  const auto cap = h->capacity();
  EXPECT_EQ(cap.instances_by_type.at("t3.micro"), (std::pair<unsigned, unsigned>{1, 4}));
  h->reboot("web");
  EXPECT_TRUE(h->stop("web", false));
  EXPECT_EQ(h->state("web"), host::VmState::Stopping);  // the endpoint moves on at each describe
  EXPECT_EQ(h->state("web"), host::VmState::Stopped);
  EXPECT_FALSE(h->stop("web", false));
  EXPECT_TRUE(h->start("web"));
  EXPECT_EQ(h->state("web"), host::VmState::Running);

  EXPECT_TRUE(h->remove("web").empty());
  EXPECT_TRUE(w.records.records.empty());
  EXPECT_TRUE(w.service.addresses().empty());
  EXPECT_TRUE(w.service.security_groups().empty());
  EXPECT_EQ(w.service.instances().at(0).instance.state, "terminated");
  EXPECT_THROW(h->show("web"), Error);
}

TEST(Ec2Host, VpnProfileGoesInTheUserDataAndIsRevoked) {
  World w;
  host::Ec2Adapters a;
  a.http = std::make_unique<Direct>(w.service);
  a.crypto = std::make_unique<aws::OpenSslCrypto>();
  a.timing = std::make_unique<NoWait>();
  a.records = std::make_unique<RecordsRef>(w.records);
  a.random = std::make_unique<CountingRandom>();
  auto vpn = std::make_unique<FakeVpn>();
  auto* issued = vpn.get();
  a.vpn = std::move(vpn);
  a.credentials = [] {
    return aws::Credentials{"AKIDCLOUDTWINTEST", "cloudtwin/test+secret", "", "test"};
  };
  host::Ec2Config c;
  c.region = "us-east-1";
  Ec2Host vpn_host("ec2", c, std::move(a));
  const auto t = host::parse_vm_template(
      "NAME = db\nVPN = YES\nNIC = [ NETWORK = lan, IP = 10.0.0.50 ]\n"
      "EC2 = [ AMI = ami-0cloudtwin0test0 ]\n");
  const auto vm = vpn_host.create(t, {"", "", ""});
  EXPECT_TRUE(vm.record->host.vpn);
  EXPECT_EQ(issued->issued.count(vm.record->instance_id), 1U);
  const auto parts = core::parse_user_data(w.service.instances().at(0).user_data);
  ASSERT_EQ(parts.size(), 2U);
  EXPECT_EQ(parts[1].content_type, "application/x-openvpn-profile");  // agent's kVpnContentType
  EXPECT_NE(parts[1].content.find("# 10.0.0.50"), std::string::npos);
  vpn_host.remove("db");
  EXPECT_TRUE(issued->issued.empty());
}

TEST(Ec2Host, ThrottlingIsRetried) {
  World w;
  auto h = w.host();
  w.service.fail_next(3);  // 503 RequestLimitExceeded on the first three calls
  h->create(host::parse_vm_template(kWeb), {"", "", ""});
  EXPECT_EQ(w.service.instances().size(), 1U);
  EXPECT_EQ(h->state("web"), host::VmState::Running);
}

TEST(Ec2Host, BadAmiIsAClearErrorAndLeavesNothing) {
  World w;
  auto h = w.host();
  std::string text = kWeb;
  text.replace(text.find("ami-0cloudtwin0test0"), 20, "ami-0000000000000bad");
  try {
    h->create(host::parse_vm_template(text), {"", "", ""});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("RunInstances"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("InvalidAMIID.NotFound"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(w.service.instances().empty());
  EXPECT_TRUE(w.service.security_groups().empty());
  EXPECT_TRUE(w.service.addresses().empty());
  EXPECT_TRUE(w.records.records.empty());
}

TEST(Ec2Host, NoAmiOrUnknownKeyPairWithoutKeyIsRefused) {
  World w;
  auto h = w.host();
  EXPECT_THROW(h->create(host::parse_vm_template("NAME = a\n"), {"", "", ""}), Error);
  try {
    h->create(host::parse_vm_template("NAME = a\nEC2 = [ AMI = ami-0cloudtwin0test0, "
                                      "KEYPAIR = nope ]\n"),
              {"", "", ""});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("KEYPAIR 'nope' does not exist"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(w.service.instances().empty());
  EXPECT_TRUE(w.records.records.empty());
}

// Dies (like kill -9) as soon as RunInstances has been answered.
class DieAfterRun : public aws::HttpClient {
 public:
  DieAfterRun() : inner_(aws::make_beast_http_client()) {}
  aws::HttpResponse send(const aws::Url& endpoint, const aws::HttpRequest& request) override {
    auto answer = inner_->send(endpoint, request);
    if (request.body.find("Action=RunInstances") != std::string::npos) ::_exit(137);
    return answer;
  }

 private:
  std::unique_ptr<aws::HttpClient> inner_;
};

TEST(Ec2Host, KilledBetweenRunAndRecordRerunFindsTheInstance) {
  World w;
  EndpointServer server(w.service);
  char dir[] = "/tmp/cloudtwin-ec2host-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  auto files = host::make_ec2_record_files(std::string(dir) + "/ec2");
  const auto tmpl = host::parse_vm_template(kWeb);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto h = w.host(std::make_unique<DieAfterRun>(), files.get(), server.url());
    try {
      h->create(tmpl, {"", "", "first"});
    } catch (...) {
    }
    ::_exit(0);  // not reached when the kill point is
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 137);
  ASSERT_EQ(w.service.instances().size(), 1U);
  const auto left = files->load();
  ASSERT_EQ(left.size(), 1U);
  EXPECT_TRUE(left[0].host.provider_id.empty());  // died before recording it

  auto h = w.host(aws::make_beast_http_client(), files.get(), server.url());
  const auto vm = h->create(tmpl, {"", "", "second"});
  EXPECT_EQ(w.service.instances().size(), 1U) << "a second instance was started";
  EXPECT_EQ(vm.record->host.provider_id, w.service.instances()[0].instance.instance_id);
  EXPECT_EQ(vm.record->host.placement, "first");
  EXPECT_EQ(files->load().at(0).host.provider_id, vm.record->host.provider_id);
  EXPECT_THROW(h->create(tmpl, {"", "", ""}), Error);  // now it exists
  h->remove("web");
  EXPECT_TRUE(files->load().empty());
  EXPECT_TRUE(w.service.addresses().empty());
  std::filesystem::remove_all(dir);
}

// The multipart both guests read: cloudtwin's own parser (core, as the agent uses it) and
// cloud-init's (Debian's, python3), part by part.
TEST(Ec2UserData, AgentAndCloudInitReadTheSameParts) {
  host::Ec2UserDataInput in;
  in.hostname = "web";
  in.ssh_keys = {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample ops@host"};
  in.user_data =
      "Content-Type: multipart/mixed; boundary=\"u\"\nMIME-Version: 1.0\n\n--u\n"
      "Content-Type: text/x-shellscript\n\n#!/bin/sh\necho one\n--u\n"
      "Content-Type: text/cloud-config\n\n#cloud-config\nruncmd: [ls]\n--u--\n";
  in.vpn_profile = "client\ndev tap\nremote vpn.example 1194\n";
  const auto text = host::ec2_user_data(in);
  const auto parts = core::parse_user_data(text);
  ASSERT_EQ(parts.size(), 4U);
  const std::vector<std::string> types = {"text/cloud-config", "text/x-shellscript",
                                          "text/cloud-config", "application/x-openvpn-profile"};
  for (std::size_t i = 0; i < parts.size(); ++i) EXPECT_EQ(parts[i].content_type, types[i]) << i;
  EXPECT_EQ(parts[0].content,
            "#cloud-config\nhostname: web\npreserve_hostname: false\nssh_authorized_keys:\n"
            "  - \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample ops@host\"\n");

  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  char path[] = "/tmp/cloudtwin-ud-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  const std::string script =
      "import sys\n"
      "try:\n"
      "  from cloudinit.user_data import UserDataProcessor\n"
      "  from cloudinit import helpers\n"
      "except ImportError:\n"
      "  print('SKIP'); sys.exit(0)\n"
      "msg = UserDataProcessor(helpers.Paths({})).process(open(sys.argv[1],'rb').read())\n"
      "for p in msg.walk():\n"
      "  if p.get_content_maintype() == 'multipart': continue\n"
      "  body = p.get_payload(decode=True).decode()\n"
      "  print(p.get_content_type(), body.splitlines()[0] if body else '')\n";
  const std::string script_path = std::string(path) + ".py";
  std::ofstream(script_path) << script;
  const std::string command = "/usr/bin/python3 " + script_path + " " + path + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  while (const auto n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  ::pclose(pipe);
  ::unlink(path);
  ::unlink(script_path.c_str());
  if (out == "SKIP\n") GTEST_SKIP() << "cloud-init is not installed (Debian package cloud-init)";
  EXPECT_EQ(out,
            "text/cloud-config #cloud-config\n"
            "text/x-shellscript #!/bin/sh\n"
            "text/cloud-config #cloud-config\n"
            "application/x-openvpn-profile client\n");
}

TEST(Ec2UserData, LargeIsGzippedAndTooLargeRefused) {
  host::Ec2UserDataInput in;
  in.user_data = "#!/bin/sh\n" + std::string(20000, '#') + "\n";
  const auto packed = host::ec2_user_data(in);
  EXPECT_TRUE(core::looks_gzip(packed));
  EXPECT_EQ(core::parse_user_data(packed).size(), 2U);
  std::string noise;
  std::uint64_t x = 42;
  for (int i = 0; i < 40000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    noise += static_cast<char>('a' + (x >> 33) % 26);
  }
  in.user_data = "#!/bin/sh\n# " + noise + "\n";
  EXPECT_THROW(host::ec2_user_data(in), Error);
}

}  // namespace
}  // namespace cloudtwin::ec2test
