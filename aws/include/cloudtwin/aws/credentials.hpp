#pragma once
// AWS credentials and region found the way awscli finds them, plus cloudtwin's host-wide
// /etc/cloudtwin/ec2.conf. Pure: files come through ConfigFiles, the environment as a
// map. The secret never appears in an error message (nor in anything printed).
//
// Order (first complete answer wins), as botocore's resolver:
//   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), unless a profile
//      was given with --profile (AWS_PROFILE alone does not hide them, as in awscli);
//   2. the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials),
//      section [PROFILE];
//   3. the config file (AWS_CONFIG_FILE, else ~/.aws/config), section [profile PROFILE]
//      ([default] for the default profile);
//   4. /etc/cloudtwin/ec2.conf, section [PROFILE], which must be mode 0600 (or stricter).
// PROFILE is --profile, else AWS_PROFILE, else "default". Region: --region, AWS_REGION,
// AWS_DEFAULT_REGION, the config file's profile, then ec2.conf's.

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace cloudtwin::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty without one
  std::string source;         // where they came from ("environment", "FILE [profile]")
};

struct ConfigFile {
  std::string text;
  unsigned mode = 0600;  // permission bits
};

// Reads a file; nullopt when it does not exist. Other failures throw Error.
class ConfigFiles {
 public:
  virtual ~ConfigFiles() = default;
  virtual std::optional<ConfigFile> read(const std::string& path) const = 0;
};

using Environment = std::map<std::string, std::string>;

struct AwsSettingsRequest {
  std::string profile;  // --profile; empty when not given
  std::string region;   // --region; empty when not given
  std::string system_conf = "/etc/cloudtwin/ec2.conf";
};

struct AwsSettings {
  Credentials credentials;
  std::string region;   // empty when nothing names one
  std::string profile;  // the profile that was looked up
};

// Throws Error(NotFound) when no source has credentials (the message lists where it
// looked and what to do), Error(InvalidArgument) for a half-filled profile, a malformed
// file, or an ec2.conf readable by group or others.
AwsSettings resolve_aws_settings(const Environment& env, const ConfigFiles& files,
                                 const AwsSettingsRequest& request);

// Sections of an awscli-style INI text: section name -> key -> value. With `config_style`
// "[profile NAME]" is read as NAME (and "[default]" as default), as in ~/.aws/config.
// Tokenized by core::parse_ini (nested "s3 =" blocks read as plain keys, which nothing
// here asks for). A malformed line throws ParseError naming the file and line but never
// showing the line (it may hold a secret).
using AwsIni = std::map<std::string, std::map<std::string, std::string>>;
AwsIni parse_aws_ini(std::string_view text, const std::string& source, bool config_style);

}  // namespace cloudtwin::aws
