// The EC2 client over a fake transport: what it sends (form body, signature), how it
// reads answers, retries with backoff, and failures at every step.
#include <gtest/gtest.h>

#include <deque>

#include "cloudtwin/aws/adapters/openssl_crypto.hpp"
#include "cloudtwin/aws/ec2_client.hpp"
#include "cloudtwin/aws/sigv4.hpp"

namespace cloudtwin::aws {
namespace {

struct Sent {
  Url endpoint;
  HttpRequest request;
};

class FakeHttp : public HttpClient {
 public:
  std::deque<HttpResponse> answers;
  std::vector<Sent> sent;
  int fail_at = 0;  // the Nth send (1-based) throws Error(Io)

  HttpResponse send(const Url& endpoint, const HttpRequest& request) override {
    sent.push_back({endpoint, request});
    if (static_cast<int>(sent.size()) == fail_at) throw Error(ErrorCode::Io, "connection reset");
    if (answers.empty()) throw Error(ErrorCode::Io, "no answer queued");
    auto a = answers.front();
    answers.pop_front();
    return a;
  }
};

class FakeTiming : public Ec2Timing {
 public:
  std::vector<long long> sleeps;
  std::string amz_date() override { return "20261205T080000Z"; }
  void sleep(std::chrono::milliseconds d) override { sleeps.push_back(d.count()); }
  double random_unit() override { return 0.5; }
};

const Credentials kCreds{"AKIDTEST", "secret/TEST+key", "", "test"};

std::string error_answer(const std::string& code) {
  return "<Response><Errors><Error><Code>" + code + "</Code><Message>msg of " + code +
         "</Message></Error></Errors><RequestID>req-1</RequestID></Response>";
}

struct Fixture {
  FakeHttp http;
  FakeTiming timing;
  OpenSslCrypto crypto;
  Ec2Client client{http, crypto, timing, kCreds,
                   Ec2ClientOptions{"eu-west-1", parse_url("http://127.0.0.1:8773/"), {}}};
};

std::string header(const HttpRequest& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

TEST(Ec2Client, SendsASignedFormPost) {
  Fixture f;
  f.http.answers.push_back({200,
                            {},
                            "<RebootInstancesResponse><return>true</return>"
                            "</RebootInstancesResponse>"});
  f.client.reboot_instances({"i-1", "i-2"});
  ASSERT_EQ(f.http.sent.size(), 1U);
  const auto& r = f.http.sent[0].request;
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/");
  EXPECT_EQ(r.body, "Action=RebootInstances&Version=2016-11-15&InstanceId.1=i-1&InstanceId.2=i-2");
  EXPECT_EQ(header(r, "content-type"), "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_EQ(header(r, "x-amz-date"), "20261205T080000Z");
  // The signature is what a server recomputes from the request as received.
  const auto auth = parse_authorization(header(r, "authorization"));
  EXPECT_EQ(auth.access_key_id, "AKIDTEST");
  EXPECT_EQ(auth.region, "eu-west-1");
  EXPECT_EQ(auth.service, "ec2");
  OpenSslCrypto crypto;
  SignableRequest again;
  again.method = "POST";
  again.host = "127.0.0.1:8773";
  again.headers = {{"content-type", header(r, "content-type")}};
  again.body = r.body;
  EXPECT_EQ(
      SigV4Signer(crypto).sign(again, kCreds, {"eu-west-1", "ec2"}, "20261205T080000Z").signature,
      auth.signature);
}

TEST(Ec2Client, RunInstancesParameters) {
  RunInstancesRequest r;
  r.image_id = "ami-1";
  r.instance_type = "t3.micro";
  r.key_name = "ops";
  r.subnet_id = "subnet-1";
  r.security_group_ids = {"sg-1", "sg-2"};
  r.user_data = "#cloud-config\n";
  r.tags = {{"Name", "web"}, {"Env", "dev"}};
  r.client_token = "tok-1";
  r.metadata_options = {"required", "enabled", 2};
  EXPECT_EQ(run_instances_params(r), (Params{{"ImageId", "ami-1"},
                                             {"InstanceType", "t3.micro"},
                                             {"MinCount", "1"},
                                             {"MaxCount", "1"},
                                             {"KeyName", "ops"},
                                             {"SubnetId", "subnet-1"},
                                             {"SecurityGroupId.1", "sg-1"},
                                             {"SecurityGroupId.2", "sg-2"},
                                             {"UserData", "I2Nsb3VkLWNvbmZpZwo="},
                                             {"ClientToken", "tok-1"},
                                             {"TagSpecification.1.ResourceType", "instance"},
                                             {"TagSpecification.1.Tag.1.Key", "Name"},
                                             {"TagSpecification.1.Tag.1.Value", "web"},
                                             {"TagSpecification.1.Tag.2.Key", "Env"},
                                             {"TagSpecification.1.Tag.2.Value", "dev"},
                                             {"MetadataOptions.HttpTokens", "required"},
                                             {"MetadataOptions.HttpEndpoint", "enabled"},
                                             {"MetadataOptions.HttpPutResponseHopLimit", "2"}}));
  RunInstancesRequest minimal;
  minimal.image_id = "ami-2";
  EXPECT_EQ(run_instances_params(minimal),
            (Params{{"ImageId", "ami-2"}, {"MinCount", "1"}, {"MaxCount", "1"}}));
}

TEST(Ec2Client, DescribeAndIngressParameters) {
  DescribeInstancesRequest d;
  d.instance_ids = {"i-1"};
  d.filters = {{"client-token", {"t"}}, {"instance-state-name", {"pending", "running"}}};
  d.max_results = 50;
  EXPECT_EQ(describe_instances_params(d, "next"), (Params{{"InstanceId.1", "i-1"},
                                                          {"Filter.1.Name", "client-token"},
                                                          {"Filter.1.Value.1", "t"},
                                                          {"Filter.2.Name", "instance-state-name"},
                                                          {"Filter.2.Value.1", "pending"},
                                                          {"Filter.2.Value.2", "running"},
                                                          {"MaxResults", "50"},
                                                          {"NextToken", "next"}}));
  EXPECT_EQ(
      ingress_params("sg-1", {{"tcp", 22, 22, "0.0.0.0/0"}, {"udp", 8000, 8080, "10.0.0.0/8"}}),
      (Params{{"GroupId", "sg-1"},
              {"IpPermissions.1.IpProtocol", "tcp"},
              {"IpPermissions.1.FromPort", "22"},
              {"IpPermissions.1.ToPort", "22"},
              {"IpPermissions.1.IpRanges.1.CidrIp", "0.0.0.0/0"},
              {"IpPermissions.2.IpProtocol", "udp"},
              {"IpPermissions.2.FromPort", "8000"},
              {"IpPermissions.2.ToPort", "8080"},
              {"IpPermissions.2.IpRanges.1.CidrIp", "10.0.0.0/8"}}));
}

TEST(Ec2Client, RetriesThrottlingAndServerErrorsWithBackoff) {
  Fixture f;
  f.http.answers = {{503, {}, "<html>Service Unavailable</html>"},
                    {400, {}, error_answer("RequestLimitExceeded")},
                    {200,
                     {},
                     "<AllocateAddressResponse><publicIp>198.51.100.1</publicIp>"
                     "<allocationId>eipalloc-1</allocationId></AllocateAddressResponse>"}};
  const auto a = f.client.allocate_address();
  EXPECT_EQ(a.allocation_id, "eipalloc-1");
  EXPECT_EQ(f.client.last_attempts(), 3);
  EXPECT_EQ(f.timing.sleeps, (std::vector<long long>{50, 100}));  // 0.5 x 100, 0.5 x 200
}

TEST(Ec2Client, RetriesABrokenConnection) {
  Fixture f;
  f.http.fail_at = 1;
  f.http.answers = {{200, {}, "<R><return>true</return></R>"}};
  f.client.release_address("eipalloc-1");
  EXPECT_EQ(f.http.sent.size(), 2U);
  // Each attempt is signed afresh (the date may have moved on).
  EXPECT_EQ(f.http.sent[0].request.body, f.http.sent[1].request.body);
}

TEST(Ec2Client, GivesUpAfterMaxAttempts) {
  Fixture f;
  for (int i = 0; i < 5; ++i) f.http.answers.push_back({503, {}, error_answer("Unavailable")});
  try {
    f.client.describe_key_pairs({});
    FAIL() << "no error";
  } catch (const Ec2Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "EC2 DescribeKeyPairs (eu-west-1, http://127.0.0.1:8773/): Unavailable: msg of "
              "Unavailable (request id req-1), after 5 attempts");
    EXPECT_EQ(e.aws_code(), "Unavailable");
    EXPECT_EQ(e.http_status(), 503);
  }
  EXPECT_EQ(f.timing.sleeps, (std::vector<long long>{50, 100, 200, 400}));
}

TEST(Ec2Client, ClientErrorsAreNotRetried) {
  Fixture f;
  f.http.answers = {{400, {}, error_answer("InvalidAMIID.NotFound")}};
  RunInstancesRequest r;
  r.image_id = "ami-1";
  try {
    f.client.run_instances(r);
    FAIL() << "no error";
  } catch (const Ec2Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "EC2 RunInstances (eu-west-1, http://127.0.0.1:8773/): InvalidAMIID.NotFound: msg "
              "of InvalidAMIID.NotFound (request id req-1)");
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
    EXPECT_EQ(e.request_id(), "req-1");
  }
  EXPECT_EQ(f.http.sent.size(), 1U);
  EXPECT_TRUE(f.timing.sleeps.empty());
}

TEST(Ec2Client, NonXmlErrorBodiesAreQuotedBriefly) {
  Fixture f;
  f.http.answers = {{403, {}, std::string("<html>\nForbidden</html>") + std::string(300, 'x')}};
  try {
    f.client.delete_security_group("sg-1");
    FAIL() << "no error";
  } catch (const Ec2Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.substr(0, 97),
              "EC2 DeleteSecurityGroup (eu-west-1, http://127.0.0.1:8773/): HTTP 403: <html> "
              "Forbidden</html>xxx");
    EXPECT_EQ(what.substr(what.size() - 4), "x...");
    EXPECT_LT(what.size(), 280U);
  }
}

TEST(Ec2Client, DescribeInstancesFollowsPages) {
  Fixture f;
  const auto page = [](const std::string& ids, const std::string& token) {
    std::string items;
    for (const char c : ids)
      items += "<item><instanceId>i-" + std::string(1, c) + "</instanceId></item>";
    return "<DescribeInstancesResponse><reservationSet><item><instancesSet>" + items +
           "</instancesSet></item></reservationSet>" +
           (token.empty() ? "" : "<nextToken>" + token + "</nextToken>") +
           "</DescribeInstancesResponse>";
  };
  f.http.answers = {{200, {}, page("12", "t2")}, {200, {}, page("3", "")}};
  const auto all = f.client.describe_instances({});
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[2].instance_id, "i-3");
  EXPECT_EQ(f.http.sent[1].request.body,
            "Action=DescribeInstances&Version=2016-11-15&NextToken=t2");

  Fixture loop;
  loop.http.answers = {{200, {}, page("1", "same")}, {200, {}, page("2", "same")}};
  EXPECT_THROW(loop.client.describe_instances({}), Error);
}

TEST(Ec2Client, EveryStepOfACreateCanFail) {
  // RunInstances, then Describe: a failure at either call surfaces as an Error naming it.
  for (int n = 1; n <= 2; ++n) {
    Fixture f;
    Ec2Client client(f.http, f.crypto, f.timing, kCreds,
                     Ec2ClientOptions{"eu-west-1", parse_url("http://127.0.0.1:1/"), {1}});
    f.http.fail_at = n;
    f.http.answers = {{200,
                       {},
                       "<RunInstancesResponse><instancesSet><item><instanceId>i-1"
                       "</instanceId></item></instancesSet></RunInstancesResponse>"}};
    RunInstancesRequest r;
    r.image_id = "ami-1";
    try {
      client.run_instances(r);
      client.describe_instances({{"i-1"}, {}, 0});
      FAIL() << "no error at call " << n;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::Io);
      EXPECT_NE(std::string(e.what()).find(n == 1 ? "RunInstances" : "DescribeInstances"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(Ec2Client, NeedsARegion) {
  FakeHttp http;
  FakeTiming timing;
  OpenSslCrypto crypto;
  EXPECT_THROW(Ec2Client(http, crypto, timing, kCreds, Ec2ClientOptions{}), Error);
  Ec2Client defaulted(http, crypto, timing, kCreds, Ec2ClientOptions{"eu-west-1", {}, {}});
  EXPECT_EQ(defaulted.options().endpoint.to_string(), "https://ec2.eu-west-1.amazonaws.com/");
}

TEST(Ec2Client, Backoff) {
  const RetryPolicy p{8, std::chrono::milliseconds(100), std::chrono::milliseconds(1000)};
  EXPECT_EQ(backoff_delay(p, 1, 1.0).count(), 100);
  EXPECT_EQ(backoff_delay(p, 3, 1.0).count(), 400);
  EXPECT_EQ(backoff_delay(p, 5, 1.0).count(), 1000);  // capped
  EXPECT_EQ(backoff_delay(p, 60, 0.5).count(), 500);
  EXPECT_EQ(backoff_delay(p, 2, 0.0).count(), 0);
  EXPECT_TRUE(is_retryable(500, ""));
  EXPECT_TRUE(is_retryable(400, "Throttling"));
  EXPECT_FALSE(is_retryable(400, "InvalidAMIID.NotFound"));
  EXPECT_FALSE(is_retryable(401, "AuthFailure"));
}

}  // namespace
}  // namespace cloudtwin::aws
