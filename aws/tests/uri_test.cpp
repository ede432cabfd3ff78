#include <gtest/gtest.h>

#include "cloudtwin/aws/uri.hpp"
#include "cloudtwin/core/error.hpp"

namespace cloudtwin::aws {
namespace {

TEST(Uri, Encode) {
  EXPECT_EQ(uri_encode("aZ09-_.~"), "aZ09-_.~");
  EXPECT_EQ(uri_encode("a b/c+d=e&\xe2\x82\xac"), "a%20b%2Fc%2Bd%3De%26%E2%82%AC");
  EXPECT_EQ(uri_encode("/bucket/a b", true), "/bucket/a%20b");
}

TEST(Uri, Decode) {
  EXPECT_EQ(uri_decode("a%20b+c%2f", true), "a b c/");
  EXPECT_EQ(uri_decode("a+b", false), "a+b");
  EXPECT_THROW(uri_decode("%", true), Error);
  EXPECT_THROW(uri_decode("%4", true), Error);
  EXPECT_THROW(uri_decode("%zz", true), Error);
}

TEST(Uri, FormRoundTrip) {
  const Params p{{"Action", "RunInstances"}, {"UserData", "a+b/c=="}, {"Empty", ""}};
  EXPECT_EQ(form_encode(p), "Action=RunInstances&UserData=a%2Bb%2Fc%3D%3D&Empty=");
  EXPECT_EQ(form_decode(form_encode(p)), p);
  EXPECT_EQ(form_decode("a&&b=1&=x"), (Params{{"a", ""}, {"b", "1"}, {"", "x"}}));
}

struct UrlCase {
  const char* text;
  const char* scheme;
  const char* host;
  unsigned port;
  const char* path;
  const char* host_header;
};

TEST(Uri, ParseUrl) {
  const UrlCase cases[] = {
      {"https://ec2.eu-west-1.amazonaws.com", "https", "ec2.eu-west-1.amazonaws.com", 443, "/",
       "ec2.eu-west-1.amazonaws.com"},
      {"http://127.0.0.1:8773/services/Cloud", "http", "127.0.0.1", 8773, "/services/Cloud",
       "127.0.0.1:8773"},
      {"HTTP://[::1]:80/", "http", "::1", 80, "/", "[::1]"},
      {"https://h:443/", "https", "h", 443, "/", "h"},
  };
  for (const auto& c : cases) {
    const auto u = parse_url(c.text);
    EXPECT_EQ(u.scheme, c.scheme) << c.text;
    EXPECT_EQ(u.host, c.host) << c.text;
    EXPECT_EQ(u.port, c.port) << c.text;
    EXPECT_EQ(u.path, c.path) << c.text;
    EXPECT_EQ(u.host_header(), c.host_header) << c.text;
  }
}

TEST(Uri, ParseUrlRefuses) {
  for (const char* bad :
       {"ec2.amazonaws.com", "ftp://h/", "http:///", "http://h:0/", "http://h:70000/",
        "http://h:x/", "http://h/?a=b", "http://u@h/", "http://[::1/", "http://h:/"}) {
    EXPECT_THROW(parse_url(bad), Error) << bad;
  }
}

}  // namespace
}  // namespace cloudtwin::aws
