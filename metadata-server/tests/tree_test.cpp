#include "cloudtwin/metadata/tree.hpp"
#include "cloudtwin/record/json.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace cloudtwin::metadata {
namespace {

using Kind = MetadataTree::Kind;

struct TreeCase {
  const char* path;
  Kind kind;
  const char* body;
};

class SampleTree : public ::testing::Test {
 protected:
  testing::FakeSigner signer;
  MetadataTree tree = build_tree(testing::sample_instance(), &signer);
};

TEST_F(SampleTree, PathsAnswerExactlyAsEc2) {
  const TreeCase cases[] = {
      {"", Kind::Directory, "dynamic\nmeta-data\nuser-data"},
      {"meta-data/instance-id", Kind::Leaf, "i-1234567890abcdef0"},
      {"meta-data/instance-id/", Kind::Leaf, "i-1234567890abcdef0"},
      {"meta-data/ami-manifest-path", Kind::Leaf, "(unknown)"},
      {"meta-data/local-ipv4", Kind::Leaf, "172.16.34.43"},
      {"meta-data/mac", Kind::Leaf, "0e:49:61:0f:c3:11"},
      {"meta-data/placement", Kind::Directory, "availability-zone\navailability-zone-id\nregion"},
      {"meta-data/placement/", Kind::Directory, "availability-zone\navailability-zone-id\nregion"},
      {"meta-data/placement/region", Kind::Leaf, "us-east-1"},
      {"meta-data/block-device-mapping/", Kind::Directory, "ami\nroot"},
      {"meta-data/events/maintenance/scheduled", Kind::Leaf, "[]"},
      {"meta-data/public-keys/", Kind::Directory, "0=my-key\n1=other"},
      {"meta-data/public-keys/0", Kind::Directory, "openssh-key"},
      {"meta-data/public-keys/0/", Kind::Directory, "openssh-key"},
      {"meta-data/public-keys/1/openssh-key", Kind::Leaf,
       "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC/Fake other"},
      {"meta-data/public-keys/0=my-key", Kind::NotFound, ""},
      {"meta-data/public-keys/2", Kind::NotFound, ""},
      {"meta-data/network/interfaces/macs/", Kind::Directory,
       "02:00:ac:10:23:05/\n0e:49:61:0f:c3:11/"},
      {"meta-data/network/interfaces/macs/02:00:ac:10:23:05/", Kind::Directory,
       "device-number\nlocal-ipv4s\nmac\nnetwork-card-index\nowner-id\nsecurity-groups\nsubnet-"
       "ipv4-cidr-block"},
      {"meta-data/network/interfaces/macs/02:00:ac:10:23:05/local-ipv4s", Kind::Leaf,
       "172.16.35.5\n172.16.35.6"},
      {"meta-data/network/interfaces/macs/02:00:ac:10:23:05/device-number", Kind::Leaf, "1"},
      {"meta-data/network/interfaces/macs/02:00:ac:10:23:05/owner-id", Kind::Leaf, "515336597381"},
      {"meta-data/network/interfaces/macs/0e:49:61:0f:c3:11/ipv6s", Kind::Leaf, "2001:db8:8:4::2"},
      {"meta-data/network/interfaces/macs/0e:49:61:0f:c3:11/vpc-ipv4-cidr-block", Kind::Leaf,
       "172.16.0.0/16"},
      {"meta-data/network/interfaces/macs/0e:49:61:0f:c3:11/ipv4-associations/", Kind::Directory,
       "192.0.2.54"},
      {"meta-data/network/interfaces/macs/0e:49:61:0f:c3:11/ipv4-associations/192.0.2.54",
       Kind::Leaf, "172.16.34.43"},
      {"meta-data/network/interfaces/macs/0E:49:61:0F:C3:11/mac", Kind::NotFound, ""},
      {"meta-data/security-groups", Kind::Leaf, "ura-launch-wizard-harry-1"},
      {"meta-data/services/", Kind::Directory, "domain\npartition"},
      {"meta-data/tags/instance", Kind::Directory, "Name\nTest"},
      {"meta-data/tags/instance/Name", Kind::Leaf, "test-instance"},
      {"meta-data/iam/", Kind::Directory, "info\nsecurity-credentials/"},
      {"meta-data/iam/security-credentials/", Kind::Directory, "baskinc-role"},
      {"dynamic/", Kind::Directory, "fws/\ninstance-identity/"},
      {"dynamic/instance-identity/", Kind::Directory, "document\npkcs7\nrsa2048\nsignature"},
      {"dynamic/instance-identity/pkcs7", Kind::Leaf, "pkcs7:487"},
      {"user-data", Kind::Leaf, "#cloud-config\nhostname: twin\n"},
      {"user-data/", Kind::Leaf, "#cloud-config\nhostname: twin\n"},
      {"meta-data//instance-id", Kind::NotFound, ""},
      {"meta-data/../meta-data/instance-id", Kind::NotFound, ""},
      {"meta-data/./instance-id", Kind::NotFound, ""},
      {"/meta-data/instance-id", Kind::NotFound, ""},
      {"meta-data/instance-id//", Kind::NotFound, ""},
      {"meta-data/nope", Kind::NotFound, ""},
  };
  for (const auto& c : cases) {
    const auto& e = tree.find(c.path);
    EXPECT_EQ(e.kind, c.kind) << c.path;
    EXPECT_EQ(e.value(), c.body) << c.path;
  }
}

TEST_F(SampleTree, MetaDataListingIsSortedWithSlashesOnSubtrees) {
  EXPECT_EQ(tree.find("meta-data/").body,
            "ami-id\nami-launch-index\nami-manifest-path\nblock-device-mapping/\nevents/"
            "\nhostname\niam/\nidentity-credentials/\n"
            "instance-action\ninstance-id\ninstance-life-cycle\ninstance-type\nkernel-id\nlocal-"
            "hostname\n"
            "local-ipv4\nmac\nnetwork/\nplacement/\npublic-hostname\npublic-ipv4\npublic-keys/\n"
            "reservation-id\nsecurity-groups\nservices/\ntags/");
}

TEST_F(SampleTree, IamCredentialsAsEc2) {
  EXPECT_EQ(tree.find("meta-data/iam/security-credentials/baskinc-role").body,
            "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2020-04-02T18:50:40Z\",\n"
            "  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"12345678901\",\n"
            "  \"SecretAccessKey\" : \"v/12345678901\",\n  \"Token\" : \"TEST92test48TEST\",\n"
            "  \"Expiration\" : \"2020-04-02T00:49:51Z\"\n}");
}

TEST(Tree, NoUserDataNoKeysNoSigner) {
  const auto i = record::parse_instance_json(
      R"({"instance-id":"i-2","metadata-options":{"instance-metadata-tags":"disabled"},
                                        "tags":{"Name":"hidden"}})",
      "t");
  const auto t = build_tree(i, nullptr);
  EXPECT_EQ(t.find("").body, "dynamic\nmeta-data");
  EXPECT_EQ(t.find("user-data").kind, Kind::NotFound);
  EXPECT_EQ(t.find("meta-data/public-keys/").kind, Kind::NotFound);
  EXPECT_EQ(t.find("meta-data/tags/instance/Name").kind, Kind::NotFound);
  EXPECT_EQ(t.find("dynamic/instance-identity/").body, "document");
  EXPECT_EQ(t.find("meta-data/mac").kind, Kind::NotFound);
}

TEST(Tree, IdentityDocumentAsEc2) {
  auto i = testing::sample_instance();
  i.kernel_id.clear();
  EXPECT_EQ(
      identity_document(i),
      "{\n  \"accountId\" : \"515336597381\",\n  \"architecture\" : \"x86_64\",\n"
      "  \"availabilityZone\" : \"us-east-1a\",\n  \"billingProducts\" : null,\n"
      "  \"devpayProductCodes\" : null,\n  \"marketplaceProductCodes\" : null,\n"
      "  \"imageId\" : \"ami-0a887e401f7654935\",\n  \"instanceId\" : \"i-1234567890abcdef0\",\n"
      "  \"instanceType\" : \"m4.xlarge\",\n  \"kernelId\" : null,\n"
      "  \"pendingTime\" : \"2019-10-31T07:02:24Z\",\n  \"privateIp\" : \"172.16.34.43\",\n"
      "  \"ramdiskId\" : null,\n  \"region\" : \"us-east-1\",\n  \"version\" : \"2017-09-30\"\n}");
}

// Each signature costs an RSA operation: made on first request, once, then kept.
TEST(Tree, SignaturesAreMadeOnFirstRequestOnly) {
  class CountingSigner : public IdentitySigner {
   public:
    mutable int calls = 0;
    std::string sign(IdentityFormat, std::string_view document) const override {
      ++calls;
      return "sig:" + std::to_string(document.size());
    }
  } signer;
  const auto t = build_tree(testing::sample_instance(), &signer);
  EXPECT_EQ(signer.calls, 0);
  EXPECT_EQ(t.find("dynamic/instance-identity/signature").value(), "sig:487");
  EXPECT_EQ(t.find("dynamic/instance-identity/signature").value(), "sig:487");
  EXPECT_EQ(signer.calls, 1);
  EXPECT_EQ(t.find("dynamic/instance-identity/pkcs7").value(), "sig:487");
  EXPECT_EQ(signer.calls, 2);
}

TEST(Tree, JsonQuote) {
  EXPECT_EQ(record::json_quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST(Tree, ApiVersions) {
  EXPECT_EQ(api_versions().front(), "1.0");
  EXPECT_EQ(api_versions().back(), "latest");
  EXPECT_TRUE(is_api_version("2009-04-04"));
  EXPECT_TRUE(is_api_version("2021-03-23"));
  EXPECT_FALSE(is_api_version("2009-04-05"));
}

}  // namespace
}  // namespace cloudtwin::metadata
