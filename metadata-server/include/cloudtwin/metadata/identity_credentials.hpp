#pragma once
// meta-data/identity-credentials/ec2/{info,security-credentials/ec2-instance}: every EC2
// instance has them (credentials that identify the instance to AWS itself, not an IAM
// role). Here they are this host's: random, short-lived, marked as cloudtwin's (the
// access key id starts "ASIACLOUDTWIN", the token says "cloudtwin-local"), and
// accepted by no AWS service. Rotated like EC2's: new values every hour, each valid
// for six. Secrets: never logged.

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cloudtwin/metadata/tokens.hpp"
#include "cloudtwin/record/instance.hpp"

namespace cloudtwin::metadata {

using SysClock = std::chrono::system_clock;

inline constexpr std::string_view kIdentityCredentialsInfo =
    "meta-data/identity-credentials/ec2/info";
inline constexpr std::string_view kIdentityCredentialsKeys =
    "meta-data/identity-credentials/ec2/security-credentials/ec2-instance";

bool is_identity_credentials_path(std::string_view path);

// "2017-09-18T08:22:00Z", as EC2 writes times in JSON (the record's own writer of times).

class IdentityCredentials {
 public:
  static constexpr std::chrono::hours kRotation{1};
  static constexpr std::chrono::hours kLifetime{6};

  IdentityCredentials(Random& random, std::function<SysClock::time_point()> now)
      : random_(random), now_(std::move(now)) {}

  // The JSON EC2 serves at `path` (one of the two above) for `instance`.
  std::string answer(std::string_view path, const record::Instance& instance);

 private:
  struct Issued {
    SysClock::time_point at;
    std::string access_key_id, secret_access_key, token;
  };
  Issued current(const std::string& instance_id, SysClock::time_point now);

  Random& random_;
  std::function<SysClock::time_point()> now_;
  std::mutex mutex_;
  std::unordered_map<std::string, Issued> issued_;
};

}  // namespace cloudtwin::metadata
