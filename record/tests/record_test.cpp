#include "cloudtwin/record/instance.hpp"

#include <gtest/gtest.h>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/record/element.hpp"
#include "cloudtwin/record/json.hpp"
#include "test_data.hpp"

namespace cloudtwin::record {
namespace {

using testing::sample_instance;

TEST(InstanceJson, SampleRecordParses) {
  const auto i = sample_instance();
  EXPECT_EQ(i.instance_id, "i-1234567890abcdef0");
  EXPECT_EQ(i.region, "us-east-1");         // derived from the availability zone
  EXPECT_EQ(i.local_ipv4, "172.16.34.43");  // from the primary NIC
  ASSERT_EQ(i.interfaces.size(), 2u);
  EXPECT_EQ(i.interfaces[0].mac, "0e:49:61:0f:c3:11");  // canonical lowercase
  EXPECT_EQ(i.public_keys.size(), 2u);
  EXPECT_EQ(i.user_data, "#cloud-config\nhostname: twin\n");
  ASSERT_TRUE(i.iam && i.iam->credentials);
  EXPECT_EQ(i.options.hop_limit, 2);
  EXPECT_EQ(i.options.http_tokens, HttpTokens::Optional);
  EXPECT_EQ(i.caller_addresses(), std::vector<std::string>{"127.0.0.1"});
}

TEST(InstanceJson, Defaults) {
  const auto i = parse_instance_json(
      R"({"instance-id":"i-1","network-interfaces":[{"mac":"02:00:0a:00:00:05","local-ipv4s":["10.0.0.5"],"ipv6s":["2001:DB8::5"]}]})",
      "t.json");
  EXPECT_EQ(i.ami_manifest_path, "(unknown)");
  EXPECT_EQ(i.options.hop_limit, 1);
  EXPECT_EQ(i.options.http_endpoint, HttpEndpoint::Enabled);
  EXPECT_FALSE(i.user_data.has_value());
  EXPECT_EQ(i.caller_addresses(), (std::vector<std::string>{"10.0.0.5", "2001:db8::5"}));
}

TEST(InstanceJson, UserDataBase64) {
  const auto i = parse_instance_json(
      R"({"instance-id":"i-1","user-data-base64":"MTIzNCxqb2huLHJlYm9vdCx0cnVlCg=="})", "t");
  EXPECT_EQ(i.user_data, "1234,john,reboot,true\n");
}

struct BadCase {
  const char* json;
  const char* message_part;
};

TEST(InstanceJson, BadRecordsSayWhatAndWhere) {
  const BadCase cases[] = {
      {"not json", "t.json: not valid JSON"},
      {"[1]", "top level must be a JSON object"},
      {"{}", "'instance-id': is required"},
      {R"({"instance-id":"i/../x"})", "'instance-id'"},
      {R"({"instance-id":"i-1","bogus":1})", "'bogus': unknown key"},
      {R"({"instance-id":"i-1","x-note":"fine","local-ipv4":"300.1.1.1"})",
       "'local-ipv4': '300.1.1.1' is not an IPv4"},
      {R"({"instance-id":"i-1","network-interfaces":[{"mac":"zz"}]})",
       "'network-interfaces[0].mac'"},
      {R"({"instance-id":"i-1","network-interfaces":[{"mac":"02:00:00:00:00:01"},{"mac":"02:00:00:00:00:01"}]})",
       "appears twice"},
      {R"({"instance-id":"i-1","metadata-options":{"http-put-response-hop-limit":65}})",
       "between 1 and 64"},
      {R"({"instance-id":"i-1","metadata-options":{"http-put-response-hop-limit":0}})",
       "between 1 and 64"},
      {R"({"instance-id":"i-1","metadata-options":{"http-tokens":"maybe"}})",
       "optional or required"},
      {R"({"instance-id":"i-1","metadata-options":{"http-endpoint":"off"}})",
       "enabled or disabled"},
      {R"({"instance-id":"i-1","tags":{"a/b":"x"}})", "'tags'"},
      {R"({"instance-id":"i-1","user-data":"a","user-data-base64":"YQ=="})", "not both"},
      {R"({"instance-id":"i-1","user-data-base64":"!!!"})", "not valid base64"},
      {R"({"instance-id":"i-1","iam":{"role":"a/b"}})", "'iam.role'"},
      {R"({"instance-id":"i-1","security-groups":["a\nb"]})", "line break"},
      {R"({"instance-id":"i-1","public-keys":[{"name":"k"}]})", "openssh-key"},
      {R"({"instance-id":"i-1","serve-to":["nope"]})", "'serve-to'"},
  };
  for (const auto& c : cases) {
    try {
      parse_instance_json(c.json, "t.json");
      ADD_FAILURE() << "accepted: " << c.json;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find(c.message_part), std::string::npos)
          << c.json << " -> " << e.what();
      EXPECT_EQ(std::string(e.what()).find("v/12345678901"), std::string::npos);
    }
  }
}

TEST(InstanceJson, SecretsNeverInErrors) {
  try {
    parse_instance_json(
        R"({"instance-id":"i-1","iam":{"role":"r","credentials":{"SecretAccessKey":"TOPSECRET","Bogus":1}}})",
        "t");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("TOPSECRET"), std::string::npos) << e.what();
  }
}

TEST(InstanceJson, WriteThenParseGivesTheSameRecord) {
  const auto sample = sample_instance();
  const auto text = instance_to_json(sample);
  EXPECT_EQ(parse_instance_json(text, "written"), sample) << text;
  // Derived values are not written: the region, local-ipv4, hostname == local-hostname.
  EXPECT_EQ(text.find("\"region\""), std::string::npos) << text;
  EXPECT_EQ(text.find("\"local-ipv4\""), std::string::npos) << text;
}

TEST(InstanceJson, WriterGolden) {
  Instance i;
  i.instance_id = "i-1";
  i.local_hostname = i.hostname = "web";
  i.interfaces.push_back({});
  i.interfaces[0].mac = "02:00:0a:00:00:05";
  i.interfaces[0].local_ipv4s = {"10.0.0.5"};
  i.interfaces[0].subnet_ipv4_cidr_block = "10.0.0.0/24";
  i.local_ipv4 = "10.0.0.5";
  i.user_data = "#!/bin/sh\n";
  i.options_record.http_tokens = HttpTokens::Required;
  i.extensions["x-test"] = R"({"a":[1]})";
  EXPECT_EQ(
      instance_to_json(i),
      R"({"record-version":2,"instance-id":"i-1","local-hostname":"web","network-interfaces":[{"mac":)"
      R"("02:00:0a:00:00:05","device-number":0,"local-ipv4s":["10.0.0.5"],)"
      R"("subnet-ipv4-cidr-block":"10.0.0.0/24"}],"user-data-base64":"IyEvYmluL3NoCg==",)"
      R"("metadata-options":{"http-tokens":"required"},"x-test":{"a":[1]}})");
  const auto back = parse_instance_json(instance_to_json(i), "t");
  EXPECT_EQ(back.extensions, i.extensions);
  EXPECT_EQ(back.options.http_tokens, HttpTokens::Required);
  // Unset options take the server's defaults; set ones win over them.
  MetadataOptions defaults;
  defaults.hop_limit = 3;
  defaults.http_tokens = HttpTokens::Required;
  const auto d = parse_instance_json(
      R"({"instance-id":"i-2","metadata-options":{"http-tokens":"optional"}})", "t", defaults);
  EXPECT_EQ(d.options.hop_limit, 3);
  EXPECT_EQ(d.options.http_tokens, HttpTokens::Optional);
}

}  // namespace
}  // namespace cloudtwin::record
