#pragma once
// AWS Signature Version 4, one signer for EC2 (Query API) and S3 (REST): canonical
// request, string to sign, signing key, Authorization header or presigned query.
// Pure: the hashes come through Crypto. The rules follow AWS's published description and
// botocore's SigV4Auth / S3SigV4Auth, which the tests compare against (aws/tests/golden).

#include <string>
#include <string_view>
#include <vector>

#include "cloudtwin/aws/credentials.hpp"
#include "cloudtwin/aws/crypto.hpp"
#include "cloudtwin/aws/uri.hpp"

namespace cloudtwin::aws {

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

struct SignableRequest {
  std::string method = "GET";
  std::string host;        // the Host header as sent (no default port)
  std::string path = "/";  // as sent on the request line: percent-encoded once
  Params query;            // decoded names and values
  Params headers;          // further headers to sign, as sent (content-type, range, ...)
  std::string_view body;
};

struct SigV4Scope {
  std::string region;
  std::string service;  // "ec2", "s3"
  // S3's rules: the path is signed as sent (no normalising, no second encoding) and the
  // payload hash travels in x-amz-content-sha256.
  bool s3 = false;
  // S3 only: sign "UNSIGNED-PAYLOAD" instead of the body's hash (streamed uploads).
  bool unsigned_payload = false;
};

struct SignedRequest {
  // To add to the request: x-amz-date, x-amz-security-token (with a session token),
  // x-amz-content-sha256 (S3) and authorization.
  Params headers;
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
};

// The pieces, exposed for tests and for a server that verifies signatures.
// Non-S3 paths: dot segments and empty segments removed, then encoded again (what AWS
// and botocore do for every service but S3).
std::string canonical_uri(std::string_view path, bool s3);
std::string canonical_query(const Params& query);
struct CanonicalHeaders {
  std::string text;   // "name:value\n" per header, sorted by lower-case name
  std::string names;  // "content-type;host;x-amz-date"
};
// Names lower-cased, values trimmed with inner whitespace runs made one space, repeated
// names joined with ',' in order.
CanonicalHeaders canonical_headers(const Params& headers);
std::string credential_scope(std::string_view amz_date, const SigV4Scope& scope);
// METHOD \n canonical URI \n canonical query \n headers \n names \n payload hash.
std::string canonical_request(std::string_view method, std::string_view path, const Params& query,
                              const CanonicalHeaders& headers, std::string_view payload_hash,
                              bool s3);

// "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request,
// SignedHeaders=host;x-amz-date, Signature=..." taken apart (a server's side).
struct Authorization {
  std::string access_key_id;
  std::string date;  // yyyymmdd
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;
  std::string signature;
};
// Throws Error(InvalidArgument) saying which part is missing or malformed.
Authorization parse_authorization(std::string_view header);

class SigV4Signer {
 public:
  explicit SigV4Signer(const Crypto& crypto) : crypto_(crypto) {}

  // `amz_date` is the request time as "YYYYMMDDTHHMMSSZ" (UTC).
  SignedRequest sign(const SignableRequest& request, const Credentials& credentials,
                     const SigV4Scope& scope, std::string_view amz_date) const;

  // Query signing (a presigned URL valid `expires_seconds`): the parameters to append to
  // the request's query, X-Amz-Signature last.
  Params presign(const SignableRequest& request, const Credentials& credentials,
                 const SigV4Scope& scope, std::string_view amz_date, int expires_seconds) const;

  // The signature of a canonical request (what a server recomputes to check one).
  std::string signature(std::string_view secret_access_key, std::string_view amz_date,
                        const SigV4Scope& scope, std::string_view canonical_request) const;

  std::string payload_hash(std::string_view body, const SigV4Scope& scope) const;

 private:
  std::string string_to_sign(std::string_view amz_date, const SigV4Scope& scope,
                             std::string_view canonical_request) const;

  const Crypto& crypto_;
};

// "YYYYMMDDTHHMMSSZ" for seconds since the epoch (UTC).
std::string amz_date(long long epoch_seconds);

}  // namespace cloudtwin::aws
