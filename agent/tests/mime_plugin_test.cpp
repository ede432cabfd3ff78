// The cloudtwin-mime plugin as the agent loads it (dlopen from the build tree, next to
// this test binary as next to cloudtwin-agent): it splits MIME like the linked-in core,
// and a missing plugin is an error naming every place that was tried.
#include "cloudtwin/agent/adapters/mime_plugin.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::agent {
namespace {

using ::testing::HasSubstr;

constexpr const char* kMime =
    "Content-Type: multipart/mixed; boundary=\"XX\"\n"
    "MIME-Version: 1.0\n\n"
    "--XX\nContent-Type: text/x-shellscript\n\n#!/bin/sh\necho one\n"
    "--XX\nContent-Type: text/cloud-config\nContent-Disposition: attachment; "
    "filename=\"c.yaml\"\n\n"
    "#cloud-config\nhostname: h\n"
    "--XX--\n";

TEST(MimePlugin, SplitsLikeTheLinkedInCore) {
  std::string why;
  const auto entry = load_mime_plugin(mime_plugin_candidates(), why);
  ASSERT_NE(entry, nullptr) << why;
  const auto from_plugin = call_mime_plugin(entry, kMime, {});
  const auto linked = core::split_mime_user_data(kMime, {});
  ASSERT_EQ(from_plugin.size(), 2u);
  ASSERT_EQ(linked.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(from_plugin[i].content_type, linked[i].content_type);
    EXPECT_EQ(from_plugin[i].filename, linked[i].filename);
    EXPECT_EQ(from_plugin[i].content, linked[i].content);
  }
  EXPECT_EQ(from_plugin[1].filename, "c.yaml");
}

TEST(MimePlugin, ErrorsInThePluginComeBackAsOurErrors) {
  std::string why;
  const auto entry = load_mime_plugin(mime_plugin_candidates(), why);
  ASSERT_NE(entry, nullptr) << why;
  try {
    call_mime_plugin(entry, "Content-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\n\ntruncated",
                     {});
    ADD_FAILURE() << "truncated MIME accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::UserDataBadMime);
    EXPECT_THAT(e.what(), HasSubstr("closing boundary"));
  }
}

TEST(MimePlugin, MissingPluginNamesEveryCandidate) {
  std::string why;
  EXPECT_EQ(load_mime_plugin({"/nonexistent/a.so", "/etc/hostname"}, why), nullptr);
  EXPECT_THAT(why, HasSubstr("/nonexistent/a.so"));
  EXPECT_THAT(why, HasSubstr("/etc/hostname"));
}

}  // namespace
}  // namespace cloudtwin::agent
