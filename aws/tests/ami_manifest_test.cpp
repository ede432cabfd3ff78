// The AMI bundle manifest (ec2-bundle-image's format): fields, parts in order, the signed
// region as written, and refusals naming what is wrong.
#include "cloudtwin/aws/ami_manifest.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::aws {
namespace {

std::string sample() {
  std::ifstream in(std::string(CLOUDTWIN_AWS_GOLDEN_DIR) +
                   "/../../../tests/fuzz/corpus/aws_ami_manifest/bundle.manifest.xml");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(AmiManifest, ReadsWhatEc2BundleImageWrites) {
  const auto m = parse_ami_manifest(sample(), "web.manifest.xml");
  EXPECT_EQ(m.version, "2007-10-10");
  EXPECT_EQ(m.name, "web.img");
  EXPECT_EQ(m.architecture, "x86_64");
  EXPECT_EQ(m.size, 10485760U);
  EXPECT_EQ(m.digest_sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(m.user_encrypted_key, "0c0d");
  EXPECT_EQ(m.user_encrypted_iv, "1011");
  EXPECT_EQ(m.ec2_encrypted_key, "0a0b");
  EXPECT_EQ(m.ec2_encrypted_iv, "0e0f");
  EXPECT_EQ(m.parts, (std::vector<AmiBundlePart>{
                         {0, "web.img.part.00", "b6589fc6ab0dc82cf12099d1c2d40ab994e8410c"},
                         {1, "web.img.part.01", "356a192b7913b04c54574d18c28d46e6395428ab"}}));
  EXPECT_EQ(m.signature, "abcdef");
  EXPECT_TRUE(m.signed_text.starts_with("<machine_configuration><architecture>"));
  EXPECT_TRUE(m.signed_text.ends_with("</parts></image>"));
}

TEST(AmiManifest, Refusals) {
  const auto base = sample();
  const auto with = [&](const std::string& from, const std::string& to) {
    auto s = base;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {with("web.img.part.01", "../etc/passwd"),
       "manifest m: part 1: file name '../etc/passwd' is not a plain name"},
      {with("<part index=\"1\">", "<part index=\"2\">"),
       "manifest m: part 1 is missing or listed twice"},
      {with("<part index=\"1\">", "<part index=\"x\">"),
       "manifest m: <part index> 'x' is not a number"},
      {with("<size>10485760</size>", "<size>-1</size>"), "manifest m: <size> '-1' is not a number"},
      {with("da39a3ee5e6b4b0d3255bfef95601890afd80709", "zz"),
       "manifest m: <image><digest> is not 40 hexadecimal digits"},
      {"<bundle><version>2007-10-10</version></bundle>",
       "manifest m: the root element is not <manifest>"},
      {with("</parts>", "</parts><!DOCTYPE x>"),
       "manifest m: the answer has a DTD, which EC2 never sends"},
  };
  for (const auto& [text, want] : cases) {
    try {
      parse_ami_manifest(text, "m");
      ADD_FAILURE() << want;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), want);
    }
  }
}

}  // namespace
}  // namespace cloudtwin::aws
