// cloudtwin's EC2 client (Beast transport, real signer) against the test endpoint on
// loopback: every call of the client, EC2's errors, retries, ClientToken idempotency.
#include <gtest/gtest.h>

#include "cloudtwin/aws/adapters/beast_http_client.hpp"
#include "cloudtwin/aws/adapters/openssl_crypto.hpp"
#include "cloudtwin/aws/ec2_client.hpp"
#include "cloudtwin/ec2test/server.hpp"

namespace cloudtwin::ec2test {
namespace {

class NoWait : public aws::Ec2Timing {
 public:
  std::vector<long long> sleeps;
  std::string amz_date() override { return "20261205T080000Z"; }
  void sleep(std::chrono::milliseconds d) override { sleeps.push_back(d.count()); }
  double random_unit() override { return 1.0; }
};

struct Cloud {
  explicit Cloud(ServiceOptions o = {}) : service(crypto, std::move(o)), server(service) {}
  aws::OpenSslCrypto crypto;
  Ec2Service service;
  EndpointServer server;
  std::unique_ptr<aws::HttpClient> http = aws::make_beast_http_client();
  NoWait timing;
  aws::Ec2Client client(const std::string& secret = "cloudtwin/test+secret") {
    return aws::Ec2Client(*http, crypto, timing,
                          {service.options().access_key_id, secret, "", "test"},
                          {service.options().region, aws::parse_url(server.url()), {}});
  }
};

aws::RunInstancesRequest web(const std::string& token) {
  aws::RunInstancesRequest r;
  r.image_id = "ami-0cloudtwin0test0";
  r.instance_type = "t3.micro";
  r.client_token = token;
  r.user_data = "#cloud-config\nhostname: web\n";
  r.tags = {{"Name", "web"}};
  return r;
}

TEST(ClientAgainstEndpoint, CreateToRunningThenDelete) {
  Cloud cloud;
  auto ec2 = cloud.client();
  const auto reservation = ec2.run_instances(web("tok-1"));
  const auto id = reservation.instances.at(0).instance_id;
  std::string state = reservation.instances[0].state;
  int polls = 0;
  while (state != "running" && polls++ < 10)
    state = ec2.describe_instances({{id}, {}, 0}).at(0).state;
  EXPECT_EQ(state, "running");
  EXPECT_EQ(polls, 2);
  EXPECT_EQ(cloud.service.instances().at(0).user_data, "#cloud-config\nhostname: web\n");

  const auto address = ec2.allocate_address();
  const auto association = ec2.associate_address(address.allocation_id, id);
  EXPECT_EQ(ec2.describe_instances({{id}, {}, 0}).at(0).public_ip, address.public_ip);
  const auto group = ec2.create_security_group("cloudtwin-web", "web ports");
  ec2.authorize_security_group_ingress(
      group, {{"tcp", 22, 22, "0.0.0.0/0"}, {"tcp", 8000, 8080, "0.0.0.0/0"}});
  EXPECT_EQ(cloud.service.security_groups().at(0).ingress.size(), 2U);
  const auto key = ec2.import_key_pair("ops", "ssh-ed25519 AAAAC3Nza test@host");
  EXPECT_EQ(ec2.describe_key_pairs({"ops"}).at(0).key_fingerprint, key.key_fingerprint);
  EXPECT_FALSE(
      ec2.register_image({"bundle", "", "bucket/a.manifest.xml", "x86_64", "", "hvm"}).empty());
  ec2.reboot_instances({id});
  EXPECT_EQ(ec2.stop_instances({id}).at(0).current_state, "stopping");
  ec2.describe_instances({{id}, {}, 0});
  EXPECT_EQ(ec2.describe_instances({{id}, {}, 0}).at(0).state, "stopped");
  EXPECT_EQ(ec2.start_instances({id}).at(0).previous_state, "stopped");

  ec2.disassociate_address(association);
  ec2.release_address(address.allocation_id);
  const auto changes = ec2.terminate_instances({id});
  EXPECT_EQ(changes.at(0).current_state, "shutting-down");
  ec2.describe_instances({{id}, {}, 0});
  EXPECT_EQ(ec2.describe_instances({{id}, {}, 0}).at(0).state, "terminated");
  ec2.delete_security_group(group);
  EXPECT_TRUE(cloud.service.addresses().empty());
  EXPECT_TRUE(cloud.service.security_groups().empty());
}

TEST(ClientAgainstEndpoint, ClientTokenNeverStartsASecondInstance) {
  Cloud cloud;
  auto ec2 = cloud.client();
  const auto first = ec2.run_instances(web("same-token"));
  const auto again = ec2.run_instances(web("same-token"));
  EXPECT_EQ(again.instances.at(0).instance_id, first.instances.at(0).instance_id);
  EXPECT_EQ(cloud.service.instances().size(), 1U);
  // A rerun that lost the answer finds the instance by its token.
  const auto found = ec2.describe_instances({{}, {{"client-token", {"same-token"}}}, 0});
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0].instance_id, first.instances[0].instance_id);
}

TEST(ClientAgainstEndpoint, ThrottlingIsRetried) {
  Cloud cloud;
  auto ec2 = cloud.client();
  cloud.service.fail_next(3);
  ec2.run_instances(web("tok-throttled"));
  EXPECT_EQ(ec2.last_attempts(), 4);
  EXPECT_EQ(cloud.timing.sleeps, (std::vector<long long>{100, 200, 400}));
  EXPECT_EQ(cloud.service.instances().size(), 1U);
  cloud.service.fail_next(5);
  try {
    ec2.describe_instances({});
    FAIL() << "no error";
  } catch (const aws::Ec2Error& e) {
    EXPECT_EQ(e.aws_code(), "RequestLimitExceeded");
    EXPECT_NE(std::string(e.what()).find("after 5 attempts"), std::string::npos) << e.what();
  }
}

TEST(ClientAgainstEndpoint, Ec2ErrorsReachTheCaller) {
  ServiceOptions options;
  options.instance_limit = 1;
  Cloud cloud(options);
  auto ec2 = cloud.client();
  auto bad = web("t-bad");
  bad.image_id = "ami-0000000000000bad";
  const auto code_of = [](auto&& f) {
    try {
      f();
    } catch (const aws::Ec2Error& e) {
      return e.aws_code();
    }
    return std::string("none");
  };
  EXPECT_EQ(code_of([&] { ec2.run_instances(bad); }), "InvalidAMIID.NotFound");
  ec2.run_instances(web("t-1"));
  EXPECT_EQ(code_of([&] { ec2.run_instances(web("t-2")); }), "InstanceLimitExceeded");
  EXPECT_EQ(code_of([&] { ec2.describe_key_pairs({"nope"}); }), "InvalidKeyPair.NotFound");
  EXPECT_EQ(code_of([&] { ec2.release_address("eipalloc-nope"); }), "InvalidAllocationID.NotFound");
  auto wrong = cloud.client("not the secret");
  EXPECT_EQ(code_of([&] { wrong.describe_instances({}); }), "SignatureDoesNotMatch");
  EXPECT_EQ(cloud.service.instances().size(), 1U);
}

TEST(ClientAgainstEndpoint, DescribeFollowsPagesOf200) {
  ServiceOptions options;
  options.instance_limit = 500;
  Cloud cloud(options);
  auto ec2 = cloud.client();
  auto many = web("t-many");
  many.min_count = many.max_count = 230;
  EXPECT_EQ(ec2.run_instances(many).instances.size(), 230U);
  EXPECT_EQ(ec2.describe_instances({{}, {}, 100}).size(), 230U);
  EXPECT_EQ(cloud.service.calls().at("DescribeInstances"), 3);
}

}  // namespace
}  // namespace cloudtwin::ec2test
