// Real clients from Debian against the real server: cloud-init 22.4's Ec2 datasource
// (IMDSv2, as on AWS) and ec2-metadata from amazon-ec2-utils, whose endpoint is fixed
// at http://169.254.169.254. Everything runs in a private network namespace holding
// only lo (with 169.254.169.254/32 on it), so cloud-init's look-ups of made-up host
// names have nowhere to go. Needs root (unshare CLONE_NEWNET): label netns.
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cloudtwin/metadata/instance_store.hpp"
#include "cloudtwin/metadata/openssl_signer.hpp"
#include "cloudtwin/metadata/os_random.hpp"
#include "cloudtwin/metadata/server.hpp"

namespace cloudtwin::metadata {
namespace {

namespace fs = std::filesystem;

std::string run(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

class CompatTest : public ::testing::Test {
 protected:
  static inline std::string skip_reason;

  static void SetUpTestSuite() {
    if (::geteuid() != 0) {
      skip_reason = "needs root to create a network namespace (label netns)";
    } else if (!fs::exists("/usr/bin/python3") ||
               run("/usr/bin/python3 -c 'import cloudinit' 2>&1") != "") {
      skip_reason = "cloud-init is not installed for /usr/bin/python3";
    } else if (::unshare(CLONE_NEWNET) != 0) {
      skip_reason = "unshare(CLONE_NEWNET) failed: " + std::string(std::strerror(errno));
    } else if (std::system("/usr/sbin/ip link set lo up && /usr/sbin/ip addr add "
                           "169.254.169.254/32 dev lo") != 0) {
      skip_reason = "cannot configure lo in the test's network namespace";
    }
  }

  void SetUp() override {
    if (!skip_reason.empty()) GTEST_SKIP() << skip_reason;
    dir = fs::temp_directory_path() / ("cloudtwin-compat-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "instances");
    std::ifstream in(std::string(CLOUDTWIN_METADATA_TESTDATA) + "/sample.json");
    std::stringstream text;
    text << in.rdbuf();
    auto record = text.str();
    const std::string from = R"("serve-to": ["127.0.0.1"])";
    record.replace(record.find(from), from.size(),
                   R"("serve-to": ["127.0.0.1", "169.254.169.254"])");
    if (required_tokens) {
      const std::string opt = R"("http-tokens": "optional")";
      record.replace(record.find(opt), opt.size(), R"("http-tokens": "required")");
    }
    std::ofstream(dir / "instances" / "i.json") << record;
    signer = OpenSslIdentitySigner::load_or_create(dir / "id.key", dir / "id.crt");
    host = std::make_unique<HostIdentity>(signer.get(), "123456789012",
                                          [] { return std::chrono::system_clock::now(); });
    store = std::make_unique<DirectoryInstanceStore>(dir / "instances", host.get(),
                                                     [](const std::string&) {});
    tokens = std::make_unique<TokenService>(random);
    credentials = std::make_unique<IdentityCredentials>(
        random, [] { return std::chrono::system_clock::now(); });
    handler = std::make_unique<Handler>(*tokens, TokenService::kMaxTtl, credentials.get());
    server =
        std::make_unique<Server>(std::vector<ListenSpec>{ListenSpec::parse("169.254.169.254:80")},
                                 *store, *handler, [](const std::string&) {});
    thread = std::thread([this] { server->run(); });
  }

  void TearDown() override {
    if (server) {
      server->stop();
      thread.join();
    }
    fs::remove_all(dir);
  }

  bool required_tokens = false;
  fs::path dir;
  OsRandom random;
  std::unique_ptr<OpenSslIdentitySigner> signer;
  std::unique_ptr<HostIdentity> host;
  std::unique_ptr<DirectoryInstanceStore> store;
  std::unique_ptr<TokenService> tokens;
  std::unique_ptr<IdentityCredentials> credentials;
  std::unique_ptr<Handler> handler;
  std::unique_ptr<Server> server;
  std::thread thread;
};

void expect_cloud_init_reads_the_record() {
  const auto out = run("/usr/bin/python3 " CLOUDTWIN_METADATA_CLOUDINIT_SCRIPT
                       " http://169.254.169.254 2>/dev/null");
  Poco::JSON::Parser parser;
  Poco::JSON::Object::Ptr r;
  try {
    r = parser.parse(out).extract<Poco::JSON::Object::Ptr>();
  } catch (const std::exception&) {
    FAIL() << "cloud-init printed no JSON: " << out;
  }
  ASSERT_TRUE(r->getValue<bool>("ok")) << out;
  EXPECT_EQ(r->getValue<std::string>("instance-id"), "i-1234567890abcdef0");
  EXPECT_EQ(r->getValue<std::string>("identity-instance-id"), "i-1234567890abcdef0");
  EXPECT_EQ(r->getValue<std::string>("local-hostname"), "ip-172-16-34-43.ec2.internal");
  EXPECT_EQ(r->getValue<std::string>("availability-zone"), "us-east-1a");
  EXPECT_EQ(r->getValue<std::string>("region"), "us-east-1");
  EXPECT_EQ(r->getValue<std::string>("user-data"), "#cloud-config\nhostname: twin\n");
  EXPECT_TRUE(r->getValue<bool>("used-token"));
  const auto keys = r->getArray("ssh-keys");
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ(
      keys->getElement<std::string>(0),
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDFakeKeyForTestsOnly0000000000000000000000 my-key");
  EXPECT_EQ(keys->getElement<std::string>(1), "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC/Fake other");
  EXPECT_EQ(r->getArray("macs")->size(), 2u);
}

TEST_F(CompatTest, CloudInitEc2DatasourceCrawls) { expect_cloud_init_reads_the_record(); }

class CompatRequiredTest : public CompatTest {
 protected:
  CompatRequiredTest() { required_tokens = true; }
};

TEST_F(CompatRequiredTest, CloudInitWorksWhenTokensAreRequired) {
  expect_cloud_init_reads_the_record();
}

TEST_F(CompatRequiredTest, Ec2MetadataFromAmazonEc2Utils) {
  if (!fs::exists("/usr/bin/ec2-metadata")) GTEST_SKIP() << "amazon-ec2-utils is not installed";
  EXPECT_EQ(run("/usr/bin/ec2-metadata -i"), "instance-id: i-1234567890abcdef0\n");
  EXPECT_EQ(run("/usr/bin/ec2-metadata -z"), "placement: us-east-1a\n");
  EXPECT_EQ(run("/usr/bin/ec2-metadata --user-data"), "user-data: #cloud-config\nhostname: twin\n");
  const auto keys = run("/usr/bin/ec2-metadata -u");
  EXPECT_NE(
      keys.find("keyname:my-key\nindex:0\nformat:openssh-key\nkey:(begins from next line)\n"
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDFakeKeyForTestsOnly0000000000000000000000 "
                "my-key\n"),
      std::string::npos)
      << keys;
}

TEST_F(CompatTest, IdentityDocumentVerifiesWithOpensslSmime) {
  const auto p7 = run("curl -sf http://169.254.169.254/latest/dynamic/instance-identity/pkcs7");
  ASSERT_FALSE(p7.empty());
  std::ofstream(dir / "p7.pem") << "-----BEGIN PKCS7-----\n" << p7 << "\n-----END PKCS7-----\n";
  const auto doc = run("curl -sf http://169.254.169.254/latest/dynamic/instance-identity/document");
  const auto verified = run("openssl smime -verify -inform PEM -in " + (dir / "p7.pem").string() +
                            " -certfile " + (dir / "id.crt").string() + " -noverify 2>/dev/null");
  EXPECT_EQ(verified, doc);
  const auto rsa = run("curl -sf http://169.254.169.254/latest/dynamic/instance-identity/rsa2048");
  EXPECT_NE(rsa, p7);
  std::ofstream(dir / "rsa.pem") << "-----BEGIN PKCS7-----\n" << rsa << "\n-----END PKCS7-----\n";
  EXPECT_EQ(run("openssl smime -verify -inform PEM -in " + (dir / "rsa.pem").string() +
                " -certfile " + (dir / "id-rsa2048.crt").string() + " -noverify 2>/dev/null"),
            doc);
  EXPECT_NE(doc.find("\"accountId\" : \"515336597381\""), std::string::npos) << doc;
}

// curl as SDKs use it: endpoint + "/latest/..." (a doubled slash; --path-as-is keeps it),
// dot-segments sent as they are, and the absolute form a proxy-style client sends.
TEST_F(CompatTest, CurlWithDoubledSlashesDotSegmentsAndAbsoluteForm) {
  EXPECT_EQ(run("curl -sf --path-as-is http://169.254.169.254//latest/meta-data/instance-id"),
            "i-1234567890abcdef0");
  EXPECT_EQ(run("curl -sf --path-as-is "
                "http://169.254.169.254/latest/meta-data/../meta-data/instance-id"),
            "i-1234567890abcdef0");
  EXPECT_EQ(run("curl -sf --request-target http://169.254.169.254/latest/meta-data/instance-id "
                "http://169.254.169.254/"),
            "i-1234567890abcdef0");
  EXPECT_EQ(run("curl -s -o /dev/null -w '%{http_code}' http://169.254.169.254/latest/api/token"),
            "405");
}

}  // namespace
}  // namespace cloudtwin::metadata
