#pragma once
// S3's REST side as the image import needs it: s3://bucket/key, the object's URL
// (virtual-hosted on AWS, path style on --endpoint), the SigV4 headers of a GET (with a
// Range when resuming), and S3's XML error documents. Pure: hashes come through Crypto.
// The XML reader is fuzzed by tests/fuzz/aws_s3_xml_fuzz.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cloudtwin/aws/credentials.hpp"
#include "cloudtwin/aws/sigv4.hpp"
#include "cloudtwin/aws/uri.hpp"

namespace cloudtwin::aws {

struct S3Location {
  std::string bucket;
  std::string key;  // decoded, as stored ("images/web v1.raw")
  std::string to_string() const { return "s3://" + bucket + "/" + key; }
  bool operator==(const S3Location&) const = default;
};

// "s3://bucket/some/key" -> {bucket, "some/key"}; throws Error(InvalidArgument) naming the
// text for another scheme, an empty bucket or key, or a bucket name S3 refuses.
S3Location parse_s3_uri(std::string_view text);

struct S3Object {
  Url endpoint;      // scheme, host, port (path "/")
  std::string path;  // as sent on the request line: "/bucket/images/web%20v1.raw"
};

// Without an endpoint: https://BUCKET.s3.REGION.amazonaws.com/KEY when the bucket name is a
// DNS label (no dots), else https://s3.REGION.amazonaws.com/BUCKET/KEY. With one (s3rver,
// MinIO, --endpoint): ENDPOINT/BUCKET/KEY. The key is encoded once, '/' kept.
S3Object s3_object(const S3Location& location, std::string_view region,
                   const std::optional<Url>& endpoint);

// The headers of a signed GET of the object (x-amz-date, x-amz-content-sha256,
// [x-amz-security-token], [range], authorization); `range` is the Range header's value
// ("bytes=1048576-") or empty.
Params s3_get_object_headers(const SigV4Signer& signer, const Credentials& credentials,
                             std::string_view region, const S3Object& object,
                             std::string_view range, std::string_view amz_date);

struct S3ErrorInfo {
  std::string code;  // "NoSuchKey", "AccessDenied", "SignatureDoesNotMatch", ...
  std::string message;
  std::string resource;
  std::string request_id;
  bool operator==(const S3ErrorInfo&) const = default;
};

// <Error><Code>..</Code><Message>..</Message>...</Error>; nullopt when the text is not
// such a document (empty, HTML, not well-formed, another root).
std::optional<S3ErrorInfo> parse_s3_error(std::string_view xml) noexcept;

// "S3 GET s3://b/k: HTTP 403: AccessDenied: Access Denied (request id 4442587FB7D0A2F9)",
// with a hint for the usual causes; `body` is what the server answered (may be empty).
std::string describe_s3_failure(const S3Location& location, int http_status, std::string_view body);

}  // namespace cloudtwin::aws
