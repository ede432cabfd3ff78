// The test endpoint checked by a client nobody here wrote: Debian's awscli, pointed at it
// with --endpoint-url and fake credentials in a temporary HOME. If awscli cannot use it,
// it is not EC2-shaped.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cloudtwin/aws/adapters/openssl_crypto.hpp"
#include "cloudtwin/ec2test/server.hpp"

namespace cloudtwin::ec2test {
namespace {

constexpr const char* kAws = "/usr/bin/aws";

struct CliResult {
  int rc = -1;
  std::string out;
  std::string err;
};

class Awscli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kAws, X_OK) != 0) {
      GTEST_SKIP() << kAws << " is missing (Debian package awscli; scripts/install-deps.sh)";
    }
    char dir[] = "/tmp/cloudtwin-awscli-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    home_ = dir;
  }
  void TearDown() override {
    if (!home_.empty()) std::system(("rm -rf " + home_).c_str());
  }

  // `aws ec2 ARGS --endpoint-url URL --output json` with only fake credentials around it.
  CliResult aws(const std::string& args, const std::string& secret = "cloudtwin/test+secret") {
    const std::string err_file = home_ + "/stderr";
    const std::string command =
        "env -i HOME=" + home_ + " PATH=/usr/bin:/bin LANG=C.UTF-8" +
        " AWS_ACCESS_KEY_ID=AKIDCLOUDTWINTEST AWS_SECRET_ACCESS_KEY='" + secret + "'" +
        " AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=" +
        " AWS_MAX_ATTEMPTS=5 AWS_RETRY_MODE=standard " + kAws + " ec2 " + args +
        " --endpoint-url " + server_.url() + " --output json 2>" + err_file;
    CliResult r;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return r;
    char buf[4096];
    while (const auto n = std::fread(buf, 1, sizeof buf, pipe)) r.out.append(buf, n);
    const int status = ::pclose(pipe);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream in(err_file);
    std::stringstream s;
    s << in.rdbuf();
    r.err = s.str();
    return r;
  }

  aws::OpenSslCrypto crypto_;
  Ec2Service service_{crypto_, {}};
  EndpointServer server_{service_};
  std::string home_;
};

TEST_F(Awscli, RunDescribeAddressTerminate) {
  auto run =
      aws("run-instances --image-id ami-0cloudtwin0test0 --instance-type t3.micro --count 1 "
          "--user-data '#cloud-config' --tag-specifications "
          "'ResourceType=instance,Tags=[{Key=Name,Value=web}]'");
  ASSERT_EQ(run.rc, 0) << run.err;
  const auto reservation = nlohmann::json::parse(run.out);
  const auto id = reservation.at("Instances").at(0).at("InstanceId").get<std::string>();
  EXPECT_EQ(reservation["Instances"][0]["State"]["Name"], "pending");
  EXPECT_EQ(reservation["Instances"][0]["InstanceType"], "t3.micro");
  EXPECT_EQ(reservation["Instances"][0]["Tags"][0]["Value"], "web");
  // awscli sends an idempotency token of its own, and base64-encodes the user-data.
  EXPECT_FALSE(service_.instances().at(0).instance.client_token.empty());
  EXPECT_EQ(service_.instances().at(0).user_data, "#cloud-config");

  auto describe = aws("describe-instances --instance-ids " + id);
  ASSERT_EQ(describe.rc, 0) << describe.err;
  describe = aws("describe-instances --filters Name=instance-state-name,Values=running");
  ASSERT_EQ(describe.rc, 0) << describe.err;
  const auto listed = nlohmann::json::parse(describe.out);
  ASSERT_EQ(listed.at("Reservations").size(), 1U);
  EXPECT_EQ(listed["Reservations"][0]["Instances"][0]["InstanceId"], id);
  EXPECT_EQ(listed["Reservations"][0]["Instances"][0]["State"]["Code"], 16);

  const auto allocate = aws("allocate-address --domain vpc");
  ASSERT_EQ(allocate.rc, 0) << allocate.err;
  const auto address = nlohmann::json::parse(allocate.out);
  const auto associate =
      aws("associate-address --allocation-id " + address.at("AllocationId").get<std::string>() +
          " --instance-id " + id);
  ASSERT_EQ(associate.rc, 0) << associate.err;
  EXPECT_EQ(nlohmann::json::parse(associate.out)
                .at("AssociationId")
                .get<std::string>()
                .rfind("eipassoc-", 0),
            0U);

  const auto terminate = aws("terminate-instances --instance-ids " + id);
  ASSERT_EQ(terminate.rc, 0) << terminate.err;
  const auto changes = nlohmann::json::parse(terminate.out).at("TerminatingInstances").at(0);
  EXPECT_EQ(changes["CurrentState"]["Name"], "shutting-down");
  EXPECT_EQ(changes["PreviousState"]["Name"], "running");
  const auto release =
      aws("release-address --allocation-id " + address.at("AllocationId").get<std::string>());
  ASSERT_EQ(release.rc, 0) << release.err;
  EXPECT_TRUE(service_.addresses().empty());
}

TEST_F(Awscli, SecurityGroupsAndKeyPairs) {
  const auto group = aws("create-security-group --group-name web --description 'web ports'");
  ASSERT_EQ(group.rc, 0) << group.err;
  const auto id = nlohmann::json::parse(group.out).at("GroupId").get<std::string>();
  const auto ingress = aws("authorize-security-group-ingress --group-id " + id +
                           " --protocol tcp --port 22 "
                           "--cidr 0.0.0.0/0");
  ASSERT_EQ(ingress.rc, 0) << ingress.err;
  EXPECT_EQ(service_.security_groups().at(0).ingress.at(0).to_port, 22);
  std::ofstream(home_ + "/key.pub") << "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample ops@host\n";
  const auto key =
      aws("import-key-pair --key-name ops --public-key-material fileb://" + home_ + "/key.pub");
  ASSERT_EQ(key.rc, 0) << key.err;
  const auto keys = aws("describe-key-pairs");
  ASSERT_EQ(keys.rc, 0) << keys.err;
  EXPECT_EQ(nlohmann::json::parse(keys.out).at("KeyPairs").at(0).at("KeyName"), "ops");
  const auto removed = aws("delete-security-group --group-id " + id);
  ASSERT_EQ(removed.rc, 0) << removed.err;
}

TEST_F(Awscli, ErrorsAndRetriesAsAwscliSeesThem) {
  const auto bad = aws("run-instances --image-id ami-0000000000000bad --count 1");
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.err.find("(InvalidAMIID.NotFound)"), std::string::npos) << bad.err;
  const auto wrong = aws("describe-instances", "not the secret");
  EXPECT_NE(wrong.rc, 0);
  EXPECT_NE(wrong.err.find("(SignatureDoesNotMatch)"), std::string::npos) << wrong.err;
  EXPECT_TRUE(service_.instances().empty());
  // awscli's own retry of throttling: two 503 RequestLimitExceeded, then it succeeds.
  service_.fail_next(2);
  const auto retried = aws("describe-instances");
  EXPECT_EQ(retried.rc, 0) << retried.err;
  EXPECT_EQ(service_.calls().at("DescribeInstances"),
            3);  // 2 refused + 1 (bad signatures count under "")
}

}  // namespace
}  // namespace cloudtwin::ec2test
