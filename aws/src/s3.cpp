#include "cloudtwin/aws/s3.hpp"

#include "cloudtwin/core/error.hpp"
#include "xml_reader.hpp"

namespace cloudtwin::aws {

namespace {

[[noreturn]] void bad_uri(std::string_view text, const std::string& why) {
  throw Error(ErrorCode::InvalidArgument,
              "S3 location '" + std::string(text) + "': " + why + " (expected s3://BUCKET/KEY)");
}

bool is_bucket_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

// S3's rule for new buckets: 3-63 of [a-z0-9.-], starting and ending with a letter or digit.
bool is_bucket_name(std::string_view b) noexcept {
  if (b.size() < 3 || b.size() > 63) return false;
  for (const char c : b) {
    if (!is_bucket_char(c)) return false;
  }
  return b.front() != '-' && b.front() != '.' && b.back() != '-' && b.back() != '.';
}

}  // namespace

S3Location parse_s3_uri(std::string_view text) {
  constexpr std::string_view kScheme = "s3://";
  if (!text.starts_with(kScheme)) bad_uri(text, "does not start with s3://");
  const auto rest = text.substr(kScheme.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 == rest.size()) bad_uri(text, "no object key");
  S3Location out{std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
  if (out.bucket.empty()) bad_uri(text, "no bucket");
  if (!is_bucket_name(out.bucket)) {
    bad_uri(text, "bucket '" + out.bucket +
                      "' is not 3-63 lower-case letters, digits, '-' or '.', starting and "
                      "ending with a letter or digit");
  }
  for (const char c : out.key) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) bad_uri(text, "control byte in the key");
  }
  return out;
}

S3Object s3_object(const S3Location& location, std::string_view region,
                   const std::optional<Url>& endpoint) {
  const std::string key = uri_encode(location.key, true);
  S3Object out;
  if (endpoint) {
    out.endpoint = *endpoint;
    std::string base = endpoint->path;
    while (!base.empty() && base.back() == '/') base.pop_back();
    out.path = base + "/" + location.bucket + "/" + key;
  } else {
    const std::string domain = "s3." + std::string(region) + ".amazonaws.com";
    out.endpoint.scheme = "https";
    out.endpoint.port = 443;
    if (location.bucket.find('.') == std::string::npos) {
      out.endpoint.host = location.bucket + "." + domain;
      out.path = "/" + key;
    } else {  // a dotted bucket does not match the wildcard certificate
      out.endpoint.host = domain;
      out.path = "/" + location.bucket + "/" + key;
    }
  }
  out.endpoint.path = "/";
  return out;
}

Params s3_get_object_headers(const SigV4Signer& signer, const Credentials& credentials,
                             std::string_view region, const S3Object& object,
                             std::string_view range, std::string_view amz_date) {
  SignableRequest request;
  request.method = "GET";
  request.host = object.endpoint.host_header();
  request.path = object.path;
  if (!range.empty()) request.headers.emplace_back("Range", std::string(range));
  const SigV4Scope scope{std::string(region), "s3", true, false};
  const auto signed_request = signer.sign(request, credentials, scope, amz_date);
  Params out = request.headers;
  out.insert(out.end(), signed_request.headers.begin(), signed_request.headers.end());
  return out;
}

std::optional<S3ErrorInfo> parse_s3_error(std::string_view text) noexcept {
  try {
    const xml::Document doc(text, "S3 error");
    const auto& root = doc.root();
    if (root.localName() != "Error") return std::nullopt;
    S3ErrorInfo out{xml::text(root, "Code"), xml::text(root, "Message"),
                    xml::text(root, "Resource"), xml::text(root, "RequestId")};
    if (out.code.empty()) return std::nullopt;
    return out;
  } catch (...) {
    return std::nullopt;
  }
}

std::string describe_s3_failure(const S3Location& location, int http_status,
                                std::string_view body) {
  std::string out = "S3 GET " + location.to_string() + ": HTTP " + std::to_string(http_status);
  const auto info = parse_s3_error(body);
  if (info) {
    out += ": " + info->code;
    if (!info->message.empty()) out += ": " + info->message;
    if (!info->request_id.empty()) out += " (request id " + info->request_id + ")";
  }
  const std::string code = info ? info->code : std::string();
  if (code == "NoSuchKey" || code == "NoSuchBucket" || (!info && http_status == 404)) {
    out += "; check the bucket and key (aws s3 ls s3://" + location.bucket + "/)";
  } else if (code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId") {
    out += "; check the credentials (AWS_* variables, ~/.aws, --profile) and --region";
  } else if (code == "AccessDenied" || (!info && http_status == 403)) {
    out += "; the credentials may not read this object (s3:GetObject)";
  } else if (code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed") {
    out += "; the bucket is in another region: pass --region";
  }
  return out;
}

}  // namespace cloudtwin::aws
