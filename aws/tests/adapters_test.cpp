// The adapters: OpenSSL hashes against published vectors, credential files with their
// permission bits, the Beast client's failures.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "cloudtwin/aws/adapters/beast_http_client.hpp"
#include "cloudtwin/aws/adapters/credential_files.hpp"
#include "cloudtwin/aws/adapters/openssl_crypto.hpp"
#include "cloudtwin/core/error.hpp"

namespace cloudtwin::aws {
namespace {

TEST(OpenSslCrypto, PublishedVectors) {
  OpenSslCrypto c;
  EXPECT_EQ(hex(c.sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(c.sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(hex(c.hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(LocalConfigFiles, ReadsTextAndMode) {
  char dir_template[] = "/tmp/cloudtwin-aws-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string path = dir + "/ec2.conf";
  std::ofstream(path) << "[default]\nregion = eu-west-1\n";
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  LocalConfigFiles files;
  const auto file = files.read(path);
  ASSERT_TRUE(file.has_value());
  EXPECT_EQ(file->text, "[default]\nregion = eu-west-1\n");
  EXPECT_EQ(file->mode, 0640U);
  EXPECT_FALSE(files.read(dir + "/missing").has_value());
  EXPECT_FALSE(files.read(path + "/below-a-file").has_value());
  EXPECT_THROW(files.read(dir), Error);  // a directory
  // A refused ec2.conf through the real adapter.
  try {
    resolve_aws_settings({}, files, {"", "", path});
    FAIL() << "a group-readable ec2.conf was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mode is 0640"), std::string::npos) << e.what();
  }
  ::unlink(path.c_str());
  ::rmdir(dir.c_str());
}

TEST(BeastHttpClient, UnreachableEndpointIsAnIoError) {
  auto client = make_beast_http_client({std::chrono::milliseconds(2000), true, "", 1024});
  try {
    // Port 1 on loopback: nothing listens there in a test environment.
    client->send(parse_url("http://127.0.0.1:1/"), HttpRequest{});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Io);
    EXPECT_NE(std::string(e.what()).find("http://127.0.0.1:1/: cannot connect"), std::string::npos)
        << e.what();
  }
}

TEST(BeastHttpClient, MissingCaFileIsNamed) {
  EXPECT_THROW(
      make_beast_http_client({std::chrono::milliseconds(100), true, "/nonexistent.pem", 1}), Error);
}

}  // namespace
}  // namespace cloudtwin::aws
