// EC2's answers to the requests real clients send, and ours: the table in README.md
// ("Conformance with EC2") is generated from this one. When a row changes, run
//   CLOUDTWIN_UPDATE_README=1 build/ci/metadata-server/metadata_test --gtest_filter='Conformance*'
// and commit the README with the test.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cloudtwin/metadata/handler.hpp"
#include "test_support.hpp"

namespace cloudtwin::metadata {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Row {
  const char* method;
  const char* target;
  bool required;  // the caller's http-tokens = required
  Headers headers;
  const char* ec2;  // EC2's answer and where we know it from
  int status;       // ours
};

const char* kTtl = "X-aws-ec2-metadata-token-ttl-seconds";

class Conformance : public ::testing::Test {
 protected:
  testing::CountingRandom random;
  testing::FakeSigner signer;
  TokenService tokens{random};
  IdentityCredentials credentials{random, [] { return SysClock::from_time_t(1764921600); }};
  Handler handler{tokens, TokenService::kMaxTtl, &credentials};
  HostIdentity host{&signer, "123456789012", [] { return SysClock::from_time_t(1764921600); }};
  Clock::time_point t0{std::chrono::hours(1000)};

  std::shared_ptr<const ServedInstance> vm(bool required) {
    return make_served(
        record::parse_instance_json(std::string(R"({"instance-id":"i-abc","user-data":"hi",)") +
                                        R"("metadata-options":{"http-tokens":")" +
                                        (required ? "required" : "optional") + "\"}}",
                                    "t"),
        &host);
  }
};

std::string ours(const Response& r) {
  std::string out = std::to_string(r.status) + " " + std::string(reason_phrase(r.status));
  if (const auto allow = r.header("Allow")) out += ", `Allow: " + std::string(*allow) + "`";
  if (closes_connection(r.status)) out += ", closes";
  if (r.status == 200 && r.body.size() <= 24 && r.body.find('\n') == std::string::npos)
    out += ": `" + r.body + "`";
  return out;
}

std::string cell(const Row& row) {
  std::string out = "`" + std::string(row.method) + " " + row.target + "`";
  for (const auto& [k, v] : row.headers) out += " `" + k + ": " + v + "`";
  if (row.required) out += " (tokens required)";
  return out;
}

TEST_F(Conformance, TableMatchesTheReadme) {
  const auto optional = vm(false);
  const auto required = vm(true);
  const std::vector<Row> rows = {
      {"GET",
       "//latest/meta-data/instance-id",
       false,
       {},
       "200 (SDKs build endpoint + \"/latest/...\" and send this)",
       200},
      {"GET", "/latest//meta-data/instance-id", false, {}, "200", 200},
      {"GET",
       "/latest/meta-data/../user-data",
       false,
       {},
       "not documented; curl and SDKs resolve `..` before sending (RFC 3986)",
       200},
      {"GET",
       "/../../latest/meta-data/instance-id",
       false,
       {},
       "as RFC 3986: never above `/`",
       200},
      {"GET", "/latest/../../etc/passwd", false, {}, "404", 404},
      {"GET",
       "http://169.254.169.254/latest/meta-data/instance-id",
       false,
       {},
       "200 (absolute form, RFC 9112 section 3.2.2)",
       200},
      {"GET",
       "http://example.com/latest/meta-data/instance-id",
       false,
       {},
       "200 (the host is not checked)",
       200},
      {"GET", "*", false, {}, "400", 400},
      {"PUT", "/latest/api/token", false, {{kTtl, "21600"}}, "200, the token", 200},
      {"PUT", "//latest/api/token", false, {{kTtl, "21600"}}, "200", 200},
      {"PUT", "/latest/api/token", false, {}, "400", 400},
      {"PUT", "/latest/api/token", false, {{kTtl, "21601"}}, "400", 400},
      {"PUT",
       "/latest/api/token",
       false,
       {{kTtl, "60"}, {"X-Forwarded-For", "10.0.0.1"}},
       "403",
       403},
      {"GET",
       "/latest/api/token",
       true,
       {},
       "405, `Allow: OPTIONS, PUT`, empty body, `Connection: close` (captured answer)",
       405},
      {"POST", "/latest/api/token", false, {}, "405, `Allow: OPTIONS, PUT`", 405},
      {"GET", "/latest/meta-data/", true, {}, "401", 401},
      {"GET", "/latest/meta-data/", false, {{"X-aws-ec2-metadata-token", "forged"}}, "401", 401},
      {"GET", "/latest/meta-data/nope", false, {}, "404, `Connection: close`", 404},
      {"POST", "/latest/meta-data/", false, {}, "405", 405},
      {"GET",
       "/latest/meta-data/identity-credentials/ec2/security-credentials/",
       false,
       {},
       "200: `ec2-instance`",
       200},
      {"GET",
       "/latest/meta-data/identity-credentials/ec2/info",
       false,
       {},
       "200, JSON: Code, LastUpdated, AccountId",
       200},
      {"GET",
       "/latest/dynamic/instance-identity/document",
       false,
       {},
       "200, accountId and pendingTime always set",
       200},
  };
  std::string table =
      "| request | EC2 | cloudtwin-metadata |\n"
      "|---|---|---|\n";
  for (const auto& row : rows) {
    const auto r = handler.handle(Request{row.method, row.target, row.headers},
                                  (row.required ? required : optional).get(), t0);
    EXPECT_EQ(r.status, row.status) << row.method << " " << row.target;
    table += "| " + cell(row) + " | " + row.ec2 + " | " + ours(r) + " |\n";
  }

  const std::string path = CLOUDTWIN_METADATA_README;
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  auto readme = text.str();
  const std::string begin = "<!-- conformance table: generated by tests/conformance_test.cpp -->\n";
  const std::string end = "<!-- end of conformance table -->";
  const auto b = readme.find(begin);
  const auto e = readme.find(end);
  ASSERT_NE(b, std::string::npos) << path << " lacks the line " << begin;
  ASSERT_NE(e, std::string::npos) << path << " lacks the line " << end;
  const auto current = readme.substr(b + begin.size(), e - b - begin.size());
  if (current != table && std::getenv("CLOUDTWIN_UPDATE_README")) {
    readme.replace(b + begin.size(), current.size(), table);
    std::ofstream(path) << readme;
    return;
  }
  EXPECT_EQ(current, table) << "the README's conformance table is out of date; rerun with "
                               "CLOUDTWIN_UPDATE_README=1 to regenerate it";
}

TEST_F(Conformance, IdentityDocumentAndCredentialsAreFilled) {
  const auto s = vm(false);
  const auto doc = std::string(s->tree.find("dynamic/instance-identity/document").value());
  EXPECT_NE(doc.find(R"("accountId" : "123456789012")"), std::string::npos) << doc;
  EXPECT_NE(doc.find(R"("pendingTime" : "2025-12-05T08:00:00Z")"), std::string::npos) << doc;
  const auto get = [&](const std::string& path) {
    return handler.handle(Request{"GET", "/latest/" + path, {}}, s.get(), t0).body;
  };
  EXPECT_EQ(get("meta-data/identity-credentials/ec2/info"),
            "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2025-12-05T08:00:00Z\",\n"
            "  \"AccountId\" : \"123456789012\"\n}");
  const auto creds = get("meta-data/identity-credentials/ec2/security-credentials/ec2-instance");
  EXPECT_NE(creds.find(R"("Type" : "AWS-HMAC")"), std::string::npos) << creds;
  EXPECT_NE(creds.find(R"("AccessKeyId" : "ASIACLOUDTWIN)"), std::string::npos) << creds;
  EXPECT_NE(creds.find(R"("Token" : "cloudtwin-local-not-valid-on-aws/)"), std::string::npos);
  EXPECT_NE(creds.find(R"("Expiration" : "2025-12-05T14:00:00Z")"), std::string::npos) << creds;
  EXPECT_EQ(get("meta-data/identity-credentials/ec2/security-credentials/ec2-instance"), creds);
  // A record's own values win; without a host the document keeps what the record says.
  auto with = record::parse_instance_json(
      R"({"instance-id":"i-x","account-id":"210987654321","pending-time":"2020-01-01T00:00:00Z"})",
      "t");
  const auto completed = host.complete(with);
  EXPECT_EQ(completed.account_id, "210987654321");
  EXPECT_EQ(completed.pending_time, "2020-01-01T00:00:00Z");
}

TEST(IdentityCredentialsRotation, NewValuesEveryHourEachValidForSix) {
  testing::CountingRandom random;
  auto now = SysClock::from_time_t(1764921600);
  IdentityCredentials c(random, [&] { return now; });
  const auto i = record::parse_instance_json(R"({"instance-id":"i-a"})", "t");
  const auto j = record::parse_instance_json(R"({"instance-id":"i-b"})", "t");
  const auto first = c.answer(kIdentityCredentialsKeys, i);
  EXPECT_NE(c.answer(kIdentityCredentialsKeys, j), first);  // per instance
  now += std::chrono::minutes(59);
  EXPECT_EQ(c.answer(kIdentityCredentialsKeys, i), first);
  now += std::chrono::minutes(1);
  const auto second = c.answer(kIdentityCredentialsKeys, i);
  EXPECT_NE(second, first);
  EXPECT_NE(second.find(R"("LastUpdated" : "2025-12-05T09:00:00Z")"), std::string::npos);
  EXPECT_NE(second.find(R"("Expiration" : "2025-12-05T15:00:00Z")"), std::string::npos);
}

TEST(HostIdentityFirstLoad, PendingTimeIsTheFirstLoadAndStaysAcrossReloads) {
  auto now = SysClock::from_time_t(1764921600);
  HostIdentity host(nullptr, "123456789012", [&] { return now; });
  const auto record = record::parse_instance_json(R"({"instance-id":"i-a"})", "t");
  EXPECT_EQ(host.complete(record).pending_time, "2025-12-05T08:00:00Z");
  now += std::chrono::hours(5);
  EXPECT_EQ(host.complete(record).pending_time, "2025-12-05T08:00:00Z");
  EXPECT_EQ(
      host.complete(record::parse_instance_json(R"({"instance-id":"i-b"})", "t")).pending_time,
      "2025-12-05T13:00:00Z");
}

struct PathCase {
  const char* target;
  const char* path;  // "" = rejected
};

TEST(RequestPath, NormalisesAsRfc3986NeverAboveTheRoot) {
  const PathCase cases[] = {
      {"/latest/meta-data/", "/latest/meta-data/"},
      {"/latest/meta-data/ami-id?x=1#f", "/latest/meta-data/ami-id"},
      {"//latest/meta-data/", "/latest/meta-data/"},
      {"///latest///meta-data//ami-id", "/latest/meta-data/ami-id"},
      {"/latest/./meta-data/.", "/latest/meta-data/"},
      {"/latest/meta-data/..", "/latest/"},
      {"/latest/meta-data/../user-data", "/latest/user-data"},
      {"/..", "/"},
      {"/../../..//latest", "/latest"},
      {"/latest/.../x", "/latest/.../x"},
      {"/latest/.hidden", "/latest/.hidden"},
      {"/latest/%2e%2e/x", "/latest/%2e%2e/x"},
      {"http://169.254.169.254/latest/", "/latest/"},
      {"HTTP://[fd00:ec2::254]:80//latest", "/latest"},
      {"http://host", "/"},
      {"http://host?q", "/"},
      {"https://h/a/../b", "/b"},
      {"*", ""},
      {"latest/meta-data", ""},
      {"", ""},
      {"ftp://h/latest", ""},
  };
  for (const auto& c : cases) {
    std::string scratch;
    const auto p = request_path(c.target, scratch);
    EXPECT_EQ(p ? std::string(*p) : std::string(), c.path) << c.target;
  }
}

}  // namespace
}  // namespace cloudtwin::metadata
