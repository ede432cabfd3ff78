#include "cloudtwin/agent/access.hpp"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cloudtwin/core/error.hpp"
#include "temp_dir.hpp"

namespace cloudtwin::agent {
namespace {

using ::testing::HasSubstr;

TEST(Passwd, FindsUserAndSkipsMalformedLines) {
  const char* passwd =
      "root:x:0:0:root:/root:/bin/bash\n"
      "bad:x:zz:0::/home/bad:/bin/sh\n"
      "short:x:1\n"
      "alice:x:1000:1001:Alice:/home/alice:/bin/bash";
  const auto alice = find_passwd_entry(passwd, "alice");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->uid, 1000u);
  EXPECT_EQ(alice->gid, 1001u);
  EXPECT_EQ(alice->home, "/home/alice");
  EXPECT_EQ(find_passwd_entry(passwd, "bad"), std::nullopt);
  EXPECT_EQ(find_passwd_entry(passwd, "short"), std::nullopt);
  EXPECT_EQ(find_passwd_entry(passwd, "ali"), std::nullopt);
}

TEST(AuthorizedKeys, MergeTable) {
  struct Case {
    std::string existing;
    std::vector<std::string> keys;
    std::string expected;
  };
  const Case cases[] = {
      {"", {"ssh-ed25519 AAA a@b"}, "ssh-ed25519 AAA a@b\n"},
      {"ssh-rsa X\n", {"ssh-rsa X", " ssh-ed25519 Y "}, "ssh-rsa X\nssh-ed25519 Y\n"},
      {"ssh-rsa X", {"ssh-ed25519 Y", "ssh-ed25519 Y", ""}, "ssh-rsa X\nssh-ed25519 Y\n"},
      {"# mine\nssh-rsa X\n", {}, "# mine\nssh-rsa X\n"},
  };
  for (const auto& c : cases)
    EXPECT_EQ(merge_authorized_keys(c.existing, c.keys), c.expected) << c.existing;
}

TEST(Hosts, UpdateTable) {
  EXPECT_EQ(update_hosts("", "web"), "127.0.1.1\tweb\n");
  EXPECT_EQ(update_hosts("127.0.0.1 localhost\n127.0.1.1 old\n::1 localhost\n", "web.example.org"),
            "127.0.0.1 localhost\n127.0.1.1\tweb.example.org web\n::1 localhost\n");
  EXPECT_EQ(update_hosts("127.0.0.1 localhost", "web"), "127.0.0.1 localhost\n127.0.1.1\tweb\n");
}

TEST(Hostname, Validation) {
  for (const char* ok : {"web", "web-1.example.org", "a", "0abc"})
    EXPECT_NO_THROW(check_hostname(ok)) << ok;
  for (const char* bad : {"", "-web", "web-", "a..b", "a b", "web.", "x;reboot", "a_b"}) {
    EXPECT_THROW(check_hostname(bad), Error) << bad;
  }
  EXPECT_THROW(check_hostname(std::string(64, 'a')), Error);
}

TEST(InstallUnderRoot, HostnameAndKeysTwice) {
  testing::TempDir root;
  testing::write_file(root.path() / "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
  testing::write_file(root.path() / "etc/hosts", "127.0.0.1 localhost\n");
  EXPECT_EQ(install_hostname(root.path(), "vm-7").size(), 2u);
  EXPECT_TRUE(install_hostname(root.path(), "vm-7").empty()) << "second run changes nothing";
  EXPECT_EQ(testing::read_text(root.path() / "etc/hostname"), "vm-7\n");
  EXPECT_EQ(testing::read_text(root.path() / "etc/hosts"),
            "127.0.0.1 localhost\n127.0.1.1\tvm-7\n");

  const std::vector<std::string> keys = {"ssh-ed25519 AAAA one", "ssh-ed25519 BBBB two"};
  EXPECT_EQ(install_ssh_keys(root.path(), "root", keys).size(), 1u);
  EXPECT_TRUE(install_ssh_keys(root.path(), "root", keys).empty());
  const auto file = root.path() / "root/.ssh/authorized_keys";
  EXPECT_EQ(testing::read_text(file), "ssh-ed25519 AAAA one\nssh-ed25519 BBBB two\n");
  struct stat st {};
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((root.path() / "root/.ssh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  EXPECT_THAT([&] { install_ssh_keys(root.path(), "nobody", keys); },
              ::testing::ThrowsMessage<Error>(HasSubstr("user 'nobody' is not in")));
}

}  // namespace
}  // namespace cloudtwin::agent
