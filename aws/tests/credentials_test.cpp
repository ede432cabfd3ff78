#include <gtest/gtest.h>

#include "cloudtwin/aws/credentials.hpp"
#include "cloudtwin/core/error.hpp"

namespace cloudtwin::aws {
namespace {

class FakeFiles : public ConfigFiles {
 public:
  std::map<std::string, ConfigFile> files;
  std::optional<ConfigFile> read(const std::string& path) const override {
    const auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  }
};

constexpr const char* kCredentials = R"(# awscli's file
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = secret-default

[ops]
aws_access_key_id=AKIDOPS
aws_secret_access_key=secret-ops
aws_session_token = token-ops
)";

constexpr const char* kConfig = R"([default]
region = eu-west-1
[profile ops]
region = us-east-2
s3 =
    max_concurrent_requests = 20
[profile cfgonly]
aws_access_key_id = AKIDCFG
aws_secret_access_key = secret-cfg
region = ap-south-1
[sso-session corp]
region = nowhere
)";

struct Case {
  const char* name;
  Environment env;
  AwsSettingsRequest request;
  const char* key;
  const char* token;
  const char* region;
  const char* source;
};

FakeFiles home_files() {
  FakeFiles f;
  f.files["/home/u/.aws/credentials"] = {kCredentials, 0600};
  f.files["/home/u/.aws/config"] = {kConfig, 0644};
  f.files["/etc/cloudtwin/ec2.conf"] = {
      "[default]\naws_access_key_id = AKIDSYS\n"
      "aws_secret_access_key = secret-sys\nregion = eu-north-1\n"
      "[hostonly]\naws_access_key_id = AKIDHOST\n"
      "aws_secret_access_key = secret-host\n",
      0600};
  return f;
}

TEST(Credentials, ResolvedAsAwscliDoes) {
  const Environment home{{"HOME", "/home/u"}};
  Environment env_keys = home;
  env_keys["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  env_keys["AWS_SECRET_ACCESS_KEY"] = "secret-env";
  env_keys["AWS_SESSION_TOKEN"] = "token-env";
  Environment env_keys_profile = env_keys;
  env_keys_profile["AWS_PROFILE"] = "ops";
  Environment env_profile = home;
  env_profile["AWS_PROFILE"] = "ops";
  Environment env_region = env_profile;
  env_region["AWS_DEFAULT_REGION"] = "sa-east-1";
  Environment env_both_regions = env_region;
  env_both_regions["AWS_REGION"] = "ca-central-1";
  Environment moved{{"HOME", "/nowhere"},
                    {"AWS_SHARED_CREDENTIALS_FILE", "/home/u/.aws/credentials"},
                    {"AWS_CONFIG_FILE", "/home/u/.aws/config"}};

  const Case cases[] = {
      {"default profile",
       home,
       {},
       "AKIDDEFAULT",
       "",
       "eu-west-1",
       "/home/u/.aws/credentials [default]"},
      {"environment first", env_keys, {}, "AKIDENV", "token-env", "eu-west-1", "environment"},
      {"AWS_PROFILE does not hide the environment",
       env_keys_profile,
       {},
       "AKIDENV",
       "token-env",
       "us-east-2",
       "environment"},
      {"--profile hides the environment",
       env_keys,
       {"ops", "", "/etc/cloudtwin/ec2.conf"},
       "AKIDOPS",
       "token-ops",
       "us-east-2",
       "/home/u/.aws/credentials [ops]"},
      {"AWS_PROFILE",
       env_profile,
       {},
       "AKIDOPS",
       "token-ops",
       "us-east-2",
       "/home/u/.aws/credentials [ops]"},
      {"AWS_DEFAULT_REGION over the profile",
       env_region,
       {},
       "AKIDOPS",
       "token-ops",
       "sa-east-1",
       "/home/u/.aws/credentials [ops]"},
      {"AWS_REGION over AWS_DEFAULT_REGION",
       env_both_regions,
       {},
       "AKIDOPS",
       "token-ops",
       "ca-central-1",
       "/home/u/.aws/credentials [ops]"},
      {"--region over all",
       env_both_regions,
       {"", "me-south-1", "/etc/cloudtwin/ec2.conf"},
       "AKIDOPS",
       "token-ops",
       "me-south-1",
       "/home/u/.aws/credentials [ops]"},
      {"keys in the config file",
       home,
       {"cfgonly", "", "/etc/cloudtwin/ec2.conf"},
       "AKIDCFG",
       "",
       "ap-south-1",
       "/home/u/.aws/config [profile cfgonly]"},
      {"ec2.conf last",
       home,
       {"hostonly", "", "/etc/cloudtwin/ec2.conf"},
       "AKIDHOST",
       "",
       "",
       "/etc/cloudtwin/ec2.conf [hostonly]"},
      {"files named by the environment",
       moved,
       {},
       "AKIDDEFAULT",
       "",
       "eu-west-1",
       "/home/u/.aws/credentials [default]"},
      {"no HOME: ec2.conf",
       {},
       {},
       "AKIDSYS",
       "",
       "eu-north-1",
       "/etc/cloudtwin/ec2.conf [default]"},
  };
  const auto files = home_files();
  for (const auto& c : cases) {
    const auto s = resolve_aws_settings(c.env, files, c.request);
    EXPECT_EQ(s.credentials.access_key_id, c.key) << c.name;
    EXPECT_EQ(s.credentials.session_token, c.token) << c.name;
    EXPECT_EQ(s.region, c.region) << c.name;
    EXPECT_EQ(s.credentials.source, c.source) << c.name;
  }
}

std::string error_of(const Environment& env, const FakeFiles& files,
                     const AwsSettingsRequest& request) {
  try {
    resolve_aws_settings(env, files, request);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Credentials, GroupReadableEc2ConfIsRefused) {
  FakeFiles files;
  files.files["/etc/cloudtwin/ec2.conf"] = {
      "[default]\naws_access_key_id = AKIDSYS\naws_secret_access_key = s3cr3t-value\n", 0640};
  const auto message = error_of({}, files, {});
  EXPECT_EQ(message,
            "/etc/cloudtwin/ec2.conf holds AWS secrets but its mode is 0640 (readable or "
            "writable by group or others): chmod 600 /etc/cloudtwin/ec2.conf");
}

TEST(Credentials, NothingFoundSaysWhereItLooked) {
  const auto message = error_of({{"HOME", "/root"}}, FakeFiles{}, {});
  EXPECT_EQ(message,
            "no AWS credentials for profile 'default': looked in the environment "
            "(AWS_ACCESS_KEY_ID), /root/.aws/credentials, /root/.aws/config, "
            "/etc/cloudtwin/ec2.conf; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, run 'aws "
            "configure', or write /etc/cloudtwin/ec2.conf (mode 0600)");
}

TEST(Credentials, SecretsNeverInMessages) {
  FakeFiles files;
  files.files["/h/.aws/credentials"] = {"[default]\naws_secret_access_key = s3cr3t-value\n", 0600};
  auto message = error_of({{"HOME", "/h"}}, files, {});
  EXPECT_EQ(message,
            "/h/.aws/credentials [default] has aws_secret_access_key but no aws_access_key_id: "
            "give both");
  files.files["/h/.aws/credentials"] = {"[default]\ns3cr3t-value-pasted-alone\n", 0600};
  message = error_of({{"HOME", "/h"}}, files, {});
  EXPECT_EQ(message.find("s3cr3t"), std::string::npos) << message;
  EXPECT_NE(message.find("/h/.aws/credentials:2:"), std::string::npos) << message;
  message = error_of({{"AWS_SECRET_ACCESS_KEY", "s3cr3t-env"}}, FakeFiles{}, {});
  EXPECT_EQ(message,
            "the environment has AWS_SECRET_ACCESS_KEY but no AWS_ACCESS_KEY_ID: set both");
}

TEST(Credentials, ParseAwsIni) {
  const auto config = parse_aws_ini(kConfig, "config", true);
  EXPECT_EQ(config.size(), 3U);
  EXPECT_EQ(config.at("default").at("region"), "eu-west-1");
  EXPECT_EQ(config.at("ops").at("region"), "us-east-2");
  EXPECT_EQ(config.count("corp"), 0U);
  const auto creds = parse_aws_ini("[profile x]\na = 1\n", "credentials", false);
  EXPECT_EQ(creds.at("profile x").at("a"), "1");  // no "profile " prefix in credentials
}

}  // namespace
}  // namespace cloudtwin::aws
