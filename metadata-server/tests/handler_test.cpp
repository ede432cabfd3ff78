#include "cloudtwin/metadata/handler.hpp"

#include <gtest/gtest.h>

#include "cloudtwin/metadata/limits.hpp"
#include "cloudtwin/metadata/neighbor_table.hpp"
#include "test_support.hpp"

namespace cloudtwin::metadata {
namespace {

using namespace std::chrono_literals;

ServedInstance served_with(const std::string& options) {
  ServedInstance s;
  s.instance =
      record::parse_instance_json(R"({"instance-id":"i-)" + std::string("abc") +
                                      R"(","user-data":"hi","metadata-options":)" + options + "}",
                                  "t");
  s.tree = build_tree(s.instance, nullptr);
  return s;
}

class HandlerTest : public ::testing::Test {
 protected:
  testing::CountingRandom random;
  TokenService tokens{random};
  Handler handler{tokens};
  Clock::time_point t0{std::chrono::hours(1000)};
  ServedInstance optional =
      served_with(R"({"http-tokens":"optional","http-put-response-hop-limit":3})");
  ServedInstance required = served_with(R"({"http-tokens":"required"})");
  ServedInstance disabled = served_with(R"({"http-endpoint":"disabled"})");

  Response call(const std::string& method, const std::string& target, const ServedInstance* who,
                std::vector<std::pair<std::string, std::string>> headers = {}) {
    return handler.handle(Request{method, target, std::move(headers)}, who, t0);
  }
  std::string token_for(const ServedInstance& who, const std::string& ttl = "21600") {
    return call("PUT", "/latest/api/token", &who, {{"X-aws-ec2-metadata-token-ttl-seconds", ttl}})
        .body;
  }
};

struct StatusCase {
  const char* method;
  const char* target;
  int who;  // 0 optional, 1 required, 2 disabled, 3 unknown caller
  std::vector<std::pair<std::string, std::string>> headers;
  int status;
};

TEST_F(HandlerTest, StatusMatrix) {
  const ServedInstance* who[] = {&optional, &required, &disabled, nullptr};
  const std::string ttl = "X-aws-ec2-metadata-token-ttl-seconds";
  const StatusCase cases[] = {
      {"GET", "/", 0, {}, 200},
      {"GET", "/latest", 0, {}, 200},
      {"GET", "/latest/", 0, {}, 200},
      {"GET", "/2009-04-04/meta-data/instance-id", 0, {}, 200},
      {"GET", "/latest/meta-data/instance-id?x=1", 0, {}, 200},
      {"GET", "/latest/user-data", 0, {}, 200},
      {"HEAD", "/latest/meta-data/", 0, {}, 200},
      {"GET", "/1999-01-01/meta-data/", 0, {}, 404},
      {"GET", "/latest/meta-data/nope", 0, {}, 404},
      {"GET", "/latest/../etc/passwd", 0, {}, 404},
      {"GET", "latest/meta-data/", 0, {}, 400},
      {"GET", "*", 0, {}, 400},
      {"GET", "/latest/api/token", 0, {}, 405},
      {"POST", "/latest/meta-data/", 0, {}, 405},
      {"DELETE", "/latest/api/token", 0, {}, 405},
      {"GET", "/latest/meta-data/", 0, {{"X-aws-ec2-metadata-token", "forged"}}, 401},
      {"GET", "/latest/meta-data/", 1, {}, 401},
      {"GET", "/", 1, {}, 401},
      {"GET", "/latest/meta-data/", 2, {}, 403},
      {"PUT", "/latest/api/token", 2, {{ttl, "60"}}, 403},
      {"GET", "/latest/meta-data/", 3, {}, 404},
      {"PUT", "/latest/api/token", 3, {{ttl, "60"}}, 404},
      {"PUT", "/latest/api/token", 0, {{ttl, "60"}}, 200},
      {"PUT", "/latest/api/token", 1, {{ttl, "1"}}, 200},
      {"PUT", "/latest/api/token", 0, {{ttl, "21600"}}, 200},
      {"PUT", "/latest/api/token", 0, {{ttl, " 60 "}}, 200},
      {"PUT", "/latest/api/token", 0, {}, 400},
      {"PUT", "/latest/api/token", 0, {{ttl, "0"}}, 400},
      {"PUT", "/latest/api/token", 0, {{ttl, "21601"}}, 400},
      {"PUT", "/latest/api/token", 0, {{ttl, "-5"}}, 400},
      {"PUT", "/latest/api/token", 0, {{ttl, "+5"}}, 400},
      {"PUT", "/latest/api/token", 0, {{ttl, "1e3"}}, 400},
      {"PUT", "/latest/api/token", 0, {{ttl, "99999999999999999999"}}, 400},
      {"PUT", "/latest/api/token", 0, {{ttl, ""}}, 400},
      {"PUT", "/latest/api/token", 0, {{ttl, "60"}, {"X-Forwarded-For", "10.0.0.1"}}, 403},
      {"PUT", "/latest/api/token", 0, {{ttl, "60"}, {"x-forwarded-for", ""}}, 403},
      {"PUT", "/2021-03-23/api/token", 0, {{ttl, "60"}}, 403},
      {"PUT", "/latest/meta-data/", 0, {{ttl, "60"}}, 403},
      {"PUT", "/latest/api/token/", 0, {{ttl, "60"}}, 403},
  };
  for (const auto& c : cases) {
    const auto r = call(c.method, c.target, who[c.who], c.headers);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.target << " as " << c.who;
  }
}

TEST_F(HandlerTest, ListingsAndContentType) {
  const auto r = call("GET", "/", &optional);
  EXPECT_EQ(r.header("content-type"), "text/plain");
  EXPECT_EQ(r.body.substr(0, 15), "1.0\n2007-01-19\n");
  EXPECT_EQ(r.body.substr(r.body.size() - 7), "\nlatest");
  EXPECT_EQ(call("GET", "/latest", &optional).body, "dynamic\nmeta-data\nuser-data");
  const auto e = call("GET", "/latest/nope", &optional);
  EXPECT_EQ(e.header("Content-Type"), "text/html");
  EXPECT_NE(e.body.find("<title>404 - Not Found</title>"), std::string::npos);
  EXPECT_EQ(call("POST", "/", &optional).header("Allow"), "GET, HEAD, PUT");
  EXPECT_TRUE(call("HEAD", "/latest/meta-data/", &optional).body.empty());
}

TEST_F(HandlerTest, TokenPutReplyCarriesTtlAndHopLimit) {
  const auto r = call("PUT", "/latest/api/token", &optional,
                      {{"x-AWS-ec2-metadata-token-ttl-seconds", "300"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), 43u);  // 32 bytes, base64url, no padding
  EXPECT_EQ(
      r.body.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
  EXPECT_EQ(r.header(kTokenTtlHeader), "300");
  EXPECT_EQ(r.ip_ttl, 3);
  EXPECT_EQ(call("GET", "/latest/meta-data/", &optional).ip_ttl, 0);
}

TEST_F(HandlerTest, TokenLifecycleWithFakeClock) {
  const auto token = token_for(required, "100");
  const std::vector<std::pair<std::string, std::string>> h = {{"X-aws-ec2-metadata-token", token}};
  auto r = handler.handle(Request{"GET", "/latest/meta-data/instance-id", h}, &required, t0);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "i-abc");
  EXPECT_EQ(r.header(kTokenTtlHeader), "100");
  r = handler.handle(Request{"GET", "/latest/meta-data/instance-id", h}, &required,
                     t0 + 40s + 500ms);
  EXPECT_EQ(r.header(kTokenTtlHeader), "60");  // remaining, rounded up
  r = handler.handle(Request{"GET", "/latest/meta-data/missing", h}, &required, t0 + 99s);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header(kTokenTtlHeader), "1");
  r = handler.handle(Request{"GET", "/latest/meta-data/instance-id", h}, &required, t0 + 100s);
  EXPECT_EQ(r.status, 401);  // expired
  EXPECT_FALSE(r.header(kTokenTtlHeader));
  // IMDSv1 on an optional instance: no TTL header.
  EXPECT_FALSE(call("GET", "/latest/meta-data/", &optional).header(kTokenTtlHeader));
}

TEST_F(HandlerTest, TokenIsBoundToTheInstanceThatAskedForIt) {
  ServedInstance other = served_with(R"({"http-tokens":"optional"})");
  other.instance.instance_id = "i-other";
  const auto token = token_for(optional);
  EXPECT_EQ(
      call("GET", "/latest/meta-data/", &optional, {{"X-aws-ec2-metadata-token", token}}).status,
      200);
  EXPECT_EQ(call("GET", "/latest/meta-data/", &other, {{"X-aws-ec2-metadata-token", token}}).status,
            401);
}

TEST_F(HandlerTest, TokensDiffer) {
  EXPECT_NE(token_for(optional), token_for(optional));
  EXPECT_EQ(tokens.size(), 2u);
}

TEST_F(HandlerTest, TokenTtlCapFromConfig) {
  const Handler capped(tokens, 300);
  const auto put = [&](const char* ttl) {
    return capped
        .handle(Request{"PUT", "/latest/api/token", {{std::string(kTokenTtlHeader), ttl}}},
                &optional, t0)
        .status;
  };
  EXPECT_EQ(put("300"), 200);
  EXPECT_EQ(put("301"), 400);
}

TEST(Limits, TokenBucketPerVm) {
  RequestThrottle throttle(LimitOptions{10, 3, 0});
  const Clock::time_point t{std::chrono::hours(1)};
  EXPECT_TRUE(throttle.admit("i-a", t));
  EXPECT_TRUE(throttle.admit("i-a", t));
  EXPECT_TRUE(throttle.admit("i-a", t));
  EXPECT_FALSE(throttle.admit("i-a", t));  // burst of 3 spent
  EXPECT_TRUE(throttle.admit("i-b", t));   // another VM is not affected
  EXPECT_FALSE(throttle.admit("i-a", t + 50ms));
  EXPECT_TRUE(throttle.admit("i-a", t + 100ms));  // 10/s: one more after 100 ms
  EXPECT_FALSE(throttle.admit("i-a", t + 100ms));
  RequestThrottle unlimited(LimitOptions{0, 1, 0});
  for (int n = 0; n < 10000; ++n) ASSERT_TRUE(unlimited.admit("i-a", t));
}

TEST(Limits, ConnectionCap) {
  ConnectionCounter c(2);
  EXPECT_TRUE(c.open("i-a"));
  EXPECT_TRUE(c.open("i-a"));
  EXPECT_FALSE(c.open("i-a"));
  EXPECT_TRUE(c.open("i-b"));
  c.close("i-a");
  EXPECT_EQ(c.count("i-a"), 1u);
  EXPECT_TRUE(c.open("i-a"));
  ConnectionCounter unlimited(0);
  for (int n = 0; n < 5000; ++n) ASSERT_TRUE(unlimited.open("x"));
}

TEST(Neighbors, MacMustBeOneOfTheRecordsNics) {
  const auto i = testing::sample_instance();  // NICs 0e:49:61:0f:c3:11, 02:00:ac:10:23:05
  EXPECT_TRUE(neighbor_macs_match(i, {}));    // no entry (loopback): nothing contradicts
  EXPECT_TRUE(neighbor_macs_match(i, {"0e:49:61:0f:c3:11"}));
  EXPECT_TRUE(neighbor_macs_match(i, {"02:00:ac:10:23:05", "0e:49:61:0f:c3:11"}));
  EXPECT_FALSE(neighbor_macs_match(i, {"02:00:c0:a8:7a:0a"}));
  EXPECT_FALSE(neighbor_macs_match(i, {"0e:49:61:0f:c3:11", "02:00:c0:a8:7a:0a"}));
}

TEST(Tokens, Base64Url) {
  const std::uint8_t bytes[] = {0xfb, 0xff, 0xfe, 0x01};
  EXPECT_EQ(base64url(std::span(bytes, 3)), "-__-");
  EXPECT_EQ(base64url(std::span(bytes, 4)), "-__-AQ");
  EXPECT_EQ(base64url(std::span(bytes, 1)), "-w");
  EXPECT_EQ(base64url(std::span(bytes, 0)), "");
}

TEST(Tokens, ExpiredGrantsArePurged) {
  testing::CountingRandom random;
  TokenService tokens(random);
  const Clock::time_point t{};
  for (int n = 0; n < 1023; ++n) tokens.issue("i-1", 1s, t);
  EXPECT_EQ(tokens.size(), 1023u);
  tokens.issue("i-1", 1s, t + 2s);  // the 1024th issue purges the first 1023, all expired
  EXPECT_EQ(tokens.size(), 1u);
}

}  // namespace
}  // namespace cloudtwin::metadata
