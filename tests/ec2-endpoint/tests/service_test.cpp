// The endpoint's service without sockets: signature checks, fault injection, and the
// state machine of an instance.
#include <gtest/gtest.h>

#include "cloudtwin/aws/adapters/openssl_crypto.hpp"
#include "cloudtwin/aws/ec2_xml.hpp"
#include "cloudtwin/aws/sigv4.hpp"
#include "cloudtwin/ec2test/service.hpp"

namespace cloudtwin::ec2test {
namespace {

aws::HttpRequest signed_request(const std::string& body, const aws::Credentials& creds,
                                const std::string& region = "us-east-1") {
  aws::OpenSslCrypto crypto;
  aws::HttpRequest r;
  r.method = "POST";
  r.body = body;
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
               {"Host", "127.0.0.1:8773"}};
  aws::SignableRequest s;
  s.method = "POST";
  s.host = "127.0.0.1:8773";
  s.headers = {r.headers[0]};
  s.body = r.body;
  const auto signature =
      aws::SigV4Signer(crypto).sign(s, creds, {region, "ec2"}, "20261205T080000Z");
  r.headers.insert(r.headers.end(), signature.headers.begin(), signature.headers.end());
  return r;
}

const aws::Credentials kGood{"AKIDCLOUDTWINTEST", "cloudtwin/test+secret", "", "test"};

struct Refused {
  const char* name;
  aws::HttpRequest request;
  int status;
  const char* code;
};

TEST(Ec2Service, RefusesBadSignatures) {
  aws::OpenSslCrypto crypto;
  Ec2Service service(crypto, {});
  const std::string body = "Action=DescribeInstances&Version=2016-11-15";
  auto tampered = signed_request(body, kGood);
  tampered.body += "&InstanceId.1=i-1";
  auto unsigned_request = signed_request(body, kGood);
  unsigned_request.headers.pop_back();
  auto other_host = signed_request(body, kGood);
  other_host.headers[1].second = "ec2.us-east-1.amazonaws.com";
  const Refused cases[] = {
      {"no signature", unsigned_request, 401, "MissingAuthenticationToken"},
      {"wrong secret", signed_request(body, {"AKIDCLOUDTWINTEST", "other", "", ""}), 403,
       "SignatureDoesNotMatch"},
      {"unknown key", signed_request(body, {"AKIDOTHER", "cloudtwin/test+secret", "", ""}), 401,
       "InvalidClientTokenId"},
      {"other region", signed_request(body, kGood, "eu-west-1"), 401, "SignatureDoesNotMatch"},
      {"body changed after signing", tampered, 403, "SignatureDoesNotMatch"},
      {"host changed after signing", other_host, 403, "SignatureDoesNotMatch"},
  };
  for (const auto& c : cases) {
    const auto answer = service.handle(c.request);
    EXPECT_EQ(answer.status, c.status) << c.name;
    const auto error = aws::parse_ec2_error(answer.body);
    ASSERT_TRUE(error.has_value()) << c.name << ": " << answer.body;
    EXPECT_EQ(error->code, c.code) << c.name;
  }
  EXPECT_EQ(service.calls().at(""), 6);
  EXPECT_EQ(service.handle(signed_request(body, kGood)).status, 200);
}

TEST(Ec2Service, InjectedFaultsComeBeforeActing) {
  aws::OpenSslCrypto crypto;
  Ec2Service service(crypto, {});
  service.fail_next(2);
  const auto run = signed_request(
      "Action=RunInstances&Version=2016-11-15&ImageId=ami-0cloudtwin0test0&MinCount=1&MaxCount=1",
      kGood);
  for (int n = 0; n < 2; ++n) {
    const auto answer = service.handle(run);
    EXPECT_EQ(answer.status, 503);
    EXPECT_EQ(aws::parse_ec2_error(answer.body)->code, "RequestLimitExceeded");
  }
  EXPECT_TRUE(service.instances().empty());
  EXPECT_EQ(service.handle(run).status, 200);
  EXPECT_EQ(service.instances().size(), 1U);
}

TEST(Ec2Service, InstanceLifecycle) {
  aws::OpenSslCrypto crypto;
  Ec2Service service(crypto, {});
  const auto call = [&](const std::string& params) {
    return service.handle(signed_request("Version=2016-11-15&Action=" + params, kGood));
  };
  const auto run = aws::parse_run_instances(
      call("RunInstances&ImageId=ami-0cloudtwin0test0&MinCount=1&MaxCount=1&UserData=aGk%3D").body);
  const auto id = run.instances.at(0).instance_id;
  EXPECT_EQ(run.instances[0].state, "pending");
  EXPECT_EQ(service.instances().at(0).user_data, "hi");
  const auto state = [&] {
    return aws::parse_describe_instances(call("DescribeInstances&InstanceId.1=" + id).body)
        .reservations.at(0)
        .instances.at(0)
        .state;
  };
  EXPECT_EQ(state(), "pending");  // pending_describes = 1
  EXPECT_EQ(state(), "running");
  EXPECT_EQ(call("StopInstances&InstanceId.1=" + id).status, 200);
  EXPECT_EQ(state(), "stopping");
  EXPECT_EQ(state(), "stopped");
  EXPECT_EQ(call("StartInstances&InstanceId.1=" + id).status, 200);
  EXPECT_EQ(state(), "pending");
  EXPECT_EQ(state(), "running");
  EXPECT_EQ(call("TerminateInstances&InstanceId.1=" + id).status, 200);
  EXPECT_EQ(state(), "shutting-down");
  EXPECT_EQ(state(), "terminated");
  EXPECT_EQ(aws::parse_ec2_error(call("StartInstances&InstanceId.1=" + id).body)->code,
            "IncorrectInstanceState");
  EXPECT_EQ(aws::parse_ec2_error(call("DescribeInstances&InstanceId.1=i-nope").body)->code,
            "InvalidInstanceID.NotFound");
  EXPECT_EQ(aws::parse_ec2_error(call("Frobnicate").body)->code, "InvalidAction");
}

}  // namespace
}  // namespace cloudtwin::ec2test
