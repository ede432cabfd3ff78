// S3 for the image import: s3:// locations, object URLs, the signed GET against
// botocore's known answers (golden/botocore_sigv4.jsonl), and S3 error documents.
#include "cloudtwin/aws/s3.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cloudtwin/aws/adapters/openssl_crypto.hpp"
#include "cloudtwin/core/error.hpp"

namespace cloudtwin::aws {
namespace {

TEST(S3Uri, ParsesBucketAndKey) {
  struct Case {
    std::string text;
    S3Location want;
  };
  const std::vector<Case> cases = {
      {"s3://bucket/key", {"bucket", "key"}},
      {"s3://img-bucket/images/web v1.raw", {"img-bucket", "images/web v1.raw"}},
      {"s3://my.dotted.bucket/a/b/", {"my.dotted.bucket", "a/b/"}},
      {"s3://b12/a+b/%41", {"b12", "a+b/%41"}},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_s3_uri(c.text), c.want) << c.text;
}

TEST(S3Uri, RefusesWhatIsNotAnObject) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"http://bucket/key", "does not start with s3://"},
      {"s3://bucket", "no object key"},
      {"s3://bucket/", "no object key"},
      {"s3:///key", "no bucket"},
      {"s3://Bucket/key", "bucket 'Bucket' is not"},
      {"s3://ab/key", "bucket 'ab' is not"},
      {"s3://-ab/key", "bucket '-ab' is not"},
      {"s3://b_c/key", "bucket 'b_c' is not"},
      {"s3://bucket/a\nb", "control byte"},
  };
  for (const auto& [text, why] : cases) {
    try {
      parse_s3_uri(text);
      ADD_FAILURE() << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
      EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    }
  }
}

TEST(S3Object, UrlStyles) {
  struct Case {
    S3Location location;
    std::string region;
    std::optional<std::string> endpoint;
    std::string url;
    std::string path;
  };
  const std::vector<Case> cases = {
      {{"images", "debian/12.qcow2"},
       "eu-west-1",
       std::nullopt,
       "https://images.s3.eu-west-1.amazonaws.com/",
       "/debian/12.qcow2"},
      {{"my.images", "a b"},
       "us-east-1",
       std::nullopt,
       "https://s3.us-east-1.amazonaws.com/",
       "/my.images/a%20b"},
      {{"bkt", "a+b/\xe2\x82\xac.raw"},
       "us-east-1",
       "http://127.0.0.1:4568",
       "http://127.0.0.1:4568/",
       "/bkt/a%2Bb/%E2%82%AC.raw"},
      {{"bkt", "k"},
       "us-east-1",
       "http://[::1]:9000/prefix/",
       "http://[::1]:9000/",
       "/prefix/bkt/k"},
  };
  for (const auto& c : cases) {
    std::optional<Url> endpoint;
    if (c.endpoint) endpoint = parse_url(*c.endpoint);
    const auto o = s3_object(c.location, c.region, endpoint);
    EXPECT_EQ(o.endpoint.to_string(), c.url) << c.location.to_string();
    EXPECT_EQ(o.path, c.path) << c.location.to_string();
  }
}

nlohmann::json golden(const std::string& name) {
  std::ifstream in(std::string(CLOUDTWIN_AWS_GOLDEN_DIR) + "/botocore_sigv4.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.at("name") == name) return j;
  }
  ADD_FAILURE() << "no golden case " << name;
  return {};
}

std::string header(const Params& headers, const std::string& name) {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return "(absent)";
}

// The GETs `image import` sends, built from an s3:// location, signed as botocore signs them.
TEST(S3Sign, GetObjectEqualsBotocore) {
  struct Case {
    std::string golden;
    S3Location location;
    std::optional<std::string> endpoint;
    std::string range;
  };
  const std::vector<Case> cases = {
      {"s3-get-virtual-hosted", {"images", "debian/12/disk v1.qcow2"}, std::nullopt, ""},
      {"s3-get-endpoint-resume",
       {"img-bucket", "a+b/\xe2\x82\xac.raw"},
       "http://127.0.0.1:4568",
       "bytes=1048576-"},
      {"s3-get-range",
       {"bucket", "images/web v1.raw"},
       "https://s3.eu-west-1.amazonaws.com",
       "bytes=0-9"},
  };
  OpenSslCrypto crypto;
  const SigV4Signer signer(crypto);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.golden);
    const auto g = golden(c.golden);
    std::optional<Url> endpoint;
    if (c.endpoint) endpoint = parse_url(*c.endpoint);
    const std::string region = g.at("region");
    const auto object = s3_object(c.location, region, endpoint);
    EXPECT_EQ(object.endpoint.host_header(), g.at("host").get<std::string>());
    EXPECT_EQ(object.path, g.at("path").get<std::string>());
    const Credentials creds{g.at("access-key"), g.at("secret"), g.at("token"), "golden"};
    const auto headers = s3_get_object_headers(signer, creds, region, object, c.range,
                                               g.at("amz-date").get<std::string>());
    EXPECT_EQ(header(headers, "authorization"), g.at("authorization").get<std::string>());
    for (const auto& sent : g.at("sent-headers")) {
      EXPECT_EQ(header(headers, sent.at(0)), sent.at(1).get<std::string>());
    }
    EXPECT_EQ(header(headers, "Range"), c.range.empty() ? "(absent)" : c.range);
  }
}

TEST(S3Xml, ErrorDocuments) {
  struct Case {
    std::string xml;
    std::optional<S3ErrorInfo> want;
  };
  const std::vector<Case> cases = {
      {R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a.raw</Key><RequestId>4442587FB7D0A2F9</RequestId></Error>)",
       S3ErrorInfo{"NoSuchKey", "The specified key does not exist.", "", "4442587FB7D0A2F9"}},
      {R"(<Error><Code>AccessDenied</Code><Message>Access Denied</Message><Resource>/b/k</Resource></Error>)",
       S3ErrorInfo{"AccessDenied", "Access Denied", "/b/k", ""}},
      {R"(<Error xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Code>SignatureDoesNotMatch</Code></Error>)",
       S3ErrorInfo{"SignatureDoesNotMatch", "", "", ""}},
      {"", std::nullopt},
      {"<html><body>502 Bad Gateway</body></html>", std::nullopt},
      {"<Error><Message>no code</Message></Error>", std::nullopt},
      {"<Error><Code>x</Code>", std::nullopt},
      {R"(<!DOCTYPE x [<!ENTITY e "boom">]><Error><Code>&e;</Code></Error>)", std::nullopt},
      {"<ListBucketResult><Name>b</Name></ListBucketResult>", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_s3_error(c.xml), c.want) << c.xml;
}

TEST(S3Xml, FailureMessages) {
  const S3Location loc{"bkt", "images/a.raw"};
  struct Case {
    int status;
    std::string body;
    std::string want;
  };
  const std::vector<Case> cases = {
      {404,
       "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
       "<RequestId>R1</RequestId></Error>",
       "S3 GET s3://bkt/images/a.raw: HTTP 404: NoSuchKey: The specified key does not exist. "
       "(request id R1); check the bucket and key (aws s3 ls s3://bkt/)"},
      {403, "<Error><Code>SignatureDoesNotMatch</Code><Message>m</Message></Error>",
       "S3 GET s3://bkt/images/a.raw: HTTP 403: SignatureDoesNotMatch: m; check the credentials "
       "(AWS_* variables, ~/.aws, --profile) and --region"},
      {403, "",
       "S3 GET s3://bkt/images/a.raw: HTTP 403; the credentials may not read this object "
       "(s3:GetObject)"},
      {301, "<Error><Code>PermanentRedirect</Code></Error>",
       "S3 GET s3://bkt/images/a.raw: HTTP 301: PermanentRedirect; the bucket is in another "
       "region: pass --region"},
      {500, "oops", "S3 GET s3://bkt/images/a.raw: HTTP 500"},
  };
  for (const auto& c : cases) EXPECT_EQ(describe_s3_failure(loc, c.status, c.body), c.want);
}

}  // namespace
}  // namespace cloudtwin::aws
