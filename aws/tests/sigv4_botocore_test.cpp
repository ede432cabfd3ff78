// The signer against botocore's SigV4Auth / S3SigV4Auth / S3SigV4QueryAuth: a table of
// requests at fixed times (golden/botocore_sigv4.jsonl, written by botocore_sigv4.py),
// and a check that botocore, when installed, still computes exactly that table.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cloudtwin/aws/adapters/openssl_crypto.hpp"
#include "cloudtwin/aws/sigv4.hpp"

namespace cloudtwin::aws {
namespace {

const std::string kGolden = std::string(CLOUDTWIN_AWS_GOLDEN_DIR) + "/botocore_sigv4.jsonl";
const std::string kScript = std::string(CLOUDTWIN_AWS_GOLDEN_DIR) + "/../botocore_sigv4.py";

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Params pairs(const nlohmann::json& j) {
  Params out;
  for (const auto& p : j) out.emplace_back(p.at(0).get<std::string>(), p.at(1).get<std::string>());
  return out;
}

std::vector<nlohmann::json> golden_cases() {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_all(kGolden));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

TEST(SigV4Botocore, GoldenTableMatches) {
  const auto cases = golden_cases();
  ASSERT_GE(cases.size(), 10U) << kGolden;
  OpenSslCrypto crypto;
  const SigV4Signer signer(crypto);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const std::string body = c.at("body");
    SignableRequest request;
    request.method = c.at("method");
    request.host = c.at("host");
    request.path = c.at("path");
    request.query = pairs(c.at("query"));
    request.headers = pairs(c.at("headers"));
    request.body = body;
    const Credentials creds{c.at("access-key"), c.at("secret"), c.at("token"), "golden"};
    const SigV4Scope scope{c.at("region"), c.at("service"), c.at("s3").get<bool>(),
                           c.at("unsigned-payload").get<bool>()};
    const std::string date = c.at("amz-date");
    if (c.contains("presign")) {
      EXPECT_EQ(signer.presign(request, creds, scope, date, c.at("presign-expires").get<int>()),
                pairs(c.at("presign")));
      continue;
    }
    const auto s = signer.sign(request, creds, scope, date);
    Params sent(s.headers.begin(), s.headers.end() - 1);
    std::sort(sent.begin(), sent.end());
    EXPECT_EQ(sent, pairs(c.at("sent-headers")));
    EXPECT_EQ(s.headers.back().second, c.at("authorization").get<std::string>())
        << s.canonical_request;
  }
}

TEST(SigV4Botocore, BotocoreStillComputesTheGoldenTable) {
  const char* python = "/usr/bin/python3";
  if (std::system("/usr/bin/python3 -c 'import botocore.auth' 2>/dev/null") != 0) {
    GTEST_SKIP() << "python3-botocore is not installed (scripts/install-deps.sh installs it); "
                    "the checked-in golden table was still compared";
  }
  const std::string command = std::string(python) + " " + kScript;
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  while (const auto n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command;
  EXPECT_EQ(out, read_all(kGolden))
      << "botocore now signs differently: regenerate with " << command << " > " << kGolden;
}

}  // namespace
}  // namespace cloudtwin::aws
