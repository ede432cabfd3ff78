#include "cloudtwin/metadata/identity_credentials.hpp"

#include <array>

#include "cloudtwin/metadata/tree.hpp"
#include "cloudtwin/record/json.hpp"

namespace cloudtwin::metadata {

bool is_identity_credentials_path(std::string_view path) {
  return path == kIdentityCredentialsInfo || path == kIdentityCredentialsKeys;
}

IdentityCredentials::Issued IdentityCredentials::current(const std::string& instance_id,
                                                         SysClock::time_point now) {
  const std::lock_guard lock(mutex_);
  auto& i = issued_[instance_id];
  if (!i.token.empty() && now >= i.at && now < i.at + kRotation) return i;
  // Access key ids are 20 characters of [A-Z2-7], "ASIA" for temporary ones.
  std::array<std::uint8_t, 7> id{};
  random_.fill(id);
  static constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  i.access_key_id = "ASIACLOUDTWIN";
  for (const auto b : id) i.access_key_id += kBase32[b & 31];
  std::array<std::uint8_t, 30> secret{};
  random_.fill(secret);
  i.secret_access_key = base64url(secret);
  std::array<std::uint8_t, 48> token{};
  random_.fill(token);
  i.token = "cloudtwin-local-not-valid-on-aws/" + base64url(token);
  i.at = std::chrono::floor<std::chrono::seconds>(now);
  return i;
}

std::string IdentityCredentials::answer(std::string_view path, const record::Instance& instance) {
  const auto i = current(instance.instance_id, now_());
  if (path == kIdentityCredentialsInfo) {
    return "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : " +
           record::json_quote(record::iso8601_utc(i.at)) +
           ",\n  \"AccountId\" : " + record::json_quote(instance.account_id) + "\n}";
  }
  return "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : " +
         record::json_quote(record::iso8601_utc(i.at)) +
         ",\n  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : " +
         record::json_quote(i.access_key_id) +
         ",\n  \"SecretAccessKey\" : " + record::json_quote(i.secret_access_key) +
         ",\n  \"Token\" : " + record::json_quote(i.token) +
         ",\n  \"Expiration\" : " + record::json_quote(record::iso8601_utc(i.at + kLifetime)) +
         "\n}";
}

}  // namespace cloudtwin::metadata
