// #cloud-config parsing (tables), users as text, and user-data run once per instance
// with the real process runner in a temp root.
#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cloudtwin/agent/adapters/posix_process_runner.hpp"
#include "cloudtwin/agent/cloud_config.hpp"
#include "cloudtwin/agent/user_data_run.hpp"
#include "cloudtwin/agent/users.hpp"
#include "cloudtwin/core/error.hpp"
#include "cloudtwin/core/user_data.hpp"
#include "temp_dir.hpp"

namespace cloudtwin::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CloudConfigParse, Subset) {
  const auto c = parse_cloud_config(
      "#cloud-config\nhostname: web\nfqdn: web.example.org\n"
      "ssh_authorized_keys: [ssh-ed25519 AAAA a]\n"
      "runcmd:\n  - [touch, /tmp/x]\n  - echo $HOME > /tmp/y\n"
      "bootcmd:\n  - [true]\n"
      "write_files:\n"
      "  - path: /etc/a\n    content: aGVsbG8=\n    encoding: b64\n    permissions: '0600'\n"
      "    owner: web:web\n"
      "  - path: /etc/b\n    content: plain\n    permissions: 0755\n    append: true\n"
      "users:\n  - default\n  - name: web\n    sudo: ALL=(ALL) NOPASSWD:ALL\n"
      "    ssh_authorized_keys: [ssh-ed25519 BBBB b]\n  - plain\n"
      "packages: [nginx]\n",
      "part-001");
  EXPECT_EQ(c.hostname, "web");
  EXPECT_EQ(c.fqdn, "web.example.org");
  EXPECT_THAT(c.ssh_authorized_keys, ElementsAre("ssh-ed25519 AAAA a"));
  ASSERT_EQ(c.runcmd.size(), 2u);
  EXPECT_EQ(c.runcmd[0], (Command{{"touch", "/tmp/x"}, false}));
  EXPECT_EQ(c.runcmd[1], (Command{{"/bin/sh", "-c", "echo $HOME > /tmp/y"}, true}));
  EXPECT_EQ(c.bootcmd[0], (Command{{"true"}, false}));
  ASSERT_EQ(c.write_files.size(), 2u);
  EXPECT_EQ(c.write_files[0], (WriteFile{"/etc/a", "hello", 0600, "web:web", false}));
  EXPECT_EQ(c.write_files[1], (WriteFile{"/etc/b", "plain", 0755, "root:root", true}));
  ASSERT_EQ(c.users.size(), 2u);
  EXPECT_EQ(c.users[0].sudo, "ALL=(ALL) NOPASSWD:ALL");
  EXPECT_THAT(c.users[0].ssh_authorized_keys, ElementsAre("ssh-ed25519 BBBB b"));
  EXPECT_EQ(c.users[1].name, "plain");
  EXPECT_THAT(c.ignored, ElementsAre("packages"));
}

TEST(CloudConfigParse, GzipBase64Content) {
  const auto gz = core::base64_encode(core::gzip("zipped\n"));
  const auto c = parse_cloud_config(
      "write_files:\n  - path: /z\n    encoding: gz+b64\n    content: " + gz + "\n", "p");
  EXPECT_EQ(c.write_files.at(0).content, "zipped\n");
}

TEST(CloudConfigParse, ErrorsNameWhere) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"runcmd: [\n  a\n", "part-002:"},
      {"runcmd: echo\n", "runcmd: expected a list"},
      {"write_files:\n  - content: x\n", "write_files[0]: no path"},
      {"write_files:\n  - path: rel\n", "write_files[0].path: must be absolute"},
      {"write_files:\n  - path: /a\n    permissions: '0999'\n", "'0999' is not an octal mode"},
      {"write_files:\n  - path: /a\n    encoding: rot13\n", "unknown encoding 'rot13'"},
      {"write_files:\n  - path: /a\n    encoding: b64\n    content: '%%'\n", "base64"},
      {"- a\n- b\n", "expected a mapping"},
      {"runcmd:\n  - []\n", "runcmd[0]: empty command"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT([&] { parse_cloud_config(c.text, "part-002"); },
                ::testing::ThrowsMessage<Error>(HasSubstr(c.message)))
        << c.text;
  }
  try {
    parse_cloud_config("a: 1\nb: [\n", "part-003");
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_EQ(e.source(), "part-003");
    EXPECT_GE(e.line(), 2u);
  }
}

TEST(Users, AddUserAsText) {
  const UserDb db{"root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/sh\n",
                  "root:*:19000:0:99999:7:::\n", "root:x:0:\nbob:x:1000:\nstaff:x:1001:\n"};
  const auto u = add_user(db, "alice", "/bin/bash");
  EXPECT_EQ(u.uid, 1002u) << "1000 taken by a user, 1001 by a group";
  EXPECT_EQ(u.db.passwd, db.passwd + "alice:x:1002:1002::/home/alice:/bin/bash\n");
  EXPECT_EQ(u.db.shadow, db.shadow + "alice:!:19000:0:99999:7:::\n");
  EXPECT_EQ(u.db.group, db.group + "alice:x:1002:\n");
  EXPECT_THROW(add_user(db, "bob"), Error);
  for (const char* bad : {"", "Root", "1abc", "a b", "a:b", "a\nb", "x/y"})
    EXPECT_THROW(check_user_name(bad), Error) << bad;
  EXPECT_EQ(sudoers_entry("web", ""), "web ALL=(ALL) NOPASSWD:ALL\n");
  EXPECT_EQ(sudoers_entry("web", "ALL=(ALL) ALL"), "web ALL=(ALL) ALL\n");
  EXPECT_THROW(sudoers_entry("web", "ALL\nroot ALL"), Error);
}

TEST(Users, EnsureUserAndSudoUnderRootTwice) {
  testing::TempDir root;
  testing::write_file(root.path() / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  EXPECT_EQ(ensure_user(root.path(), "web").size(), 1u);
  EXPECT_TRUE(ensure_user(root.path(), "web").empty());
  EXPECT_THAT(testing::read_text(root.path() / "etc/passwd"),
              HasSubstr("web:x:1000:1000::/home/web:/bin/sh\n"));
  EXPECT_EQ(testing::read_text(root.path() / "etc/group"), "web:x:1000:\n");
  EXPECT_EQ(install_sudo(root.path(), "web", "").size(), 1u);
  EXPECT_TRUE(install_sudo(root.path(), "web", "").empty());
  struct stat st {};
  ASSERT_EQ(stat((root.path() / "etc/sudoers.d/90-cloudtwin-web").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0440u);
}

TEST(InstanceKey, Table) {
  EXPECT_EQ(instance_key(std::string("i-0abc"), ""), "i-0abc");
  EXPECT_EQ(instance_key(std::string("../etc"), ""), ".._etc");
  EXPECT_EQ(instance_key(std::string(".."), ""), "_..");
  EXPECT_EQ(instance_key(std::nullopt, "a"), instance_key(std::nullopt, "a"));
  EXPECT_NE(instance_key(std::nullopt, "a"), instance_key(std::nullopt, "b"));
  EXPECT_THAT(instance_key(std::string(""), "a"), HasSubstr("no-id-"));
}

class RunOnce : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_file(root_.path() / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
    options_.root = root_.path();
    out_ = (root_.path() / "out").string();
  }
  std::vector<UserDataItem> items() {
    return {
        {"part-001", core::UserDataKind::Script,
         "#!/bin/sh\necho script >> " + out_ + "\nexit 3\n"},
        {"part-002", core::UserDataKind::CloudConfig,
         "#cloud-config\nruncmd:\n  - [sh, -c, 'echo list >> " + out_ + "']\n  - echo shell >> " +
             out_ + "\nwrite_files:\n  - path: /etc/motd\n    content: hi\n"},
        {"part-003", core::UserDataKind::CloudConfig, "runcmd: [\n"},
        {"START_SCRIPT", core::UserDataKind::Script, "echo start >> " + out_ + "\n"},
        {"part-004", core::UserDataKind::Include, "http://x"}};
  }
  testing::TempDir root_;
  UserDataOptions options_;
  std::string out_;
  std::unique_ptr<ProcessRunner> runner_ = make_posix_process_runner();
};

TEST_F(RunOnce, EveryPartRunsOnceFailuresRecordedNewInstanceReruns) {
  const auto first = run_user_data_once(items(), "i-1", options_, *runner_);
  EXPECT_FALSE(first.already_ran);
  ASSERT_EQ(first.parts.size(), 5u);
  EXPECT_EQ(first.parts[0].exit_code, 3);
  EXPECT_FALSE(first.parts[0].ok);
  EXPECT_EQ(first.parts[1].exit_code, 0);
  EXPECT_TRUE(first.parts[1].ok);
  EXPECT_FALSE(first.parts[2].ok) << "broken YAML";
  EXPECT_THAT(first.parts[2].messages.at(0), HasSubstr("part-003:"));
  EXPECT_EQ(first.parts[3].exit_code, 0);
  EXPECT_THAT(first.parts[4].messages.at(0), HasSubstr("not executed"));
  EXPECT_FALSE(first.ok());
  EXPECT_EQ(testing::read_text(out_), "script\nlist\nshell\nstart\n");
  EXPECT_EQ(testing::read_text(root_.path() / "etc/motd"), "hi");

  const auto reboot = run_user_data_once(items(), "i-1", options_, *runner_);
  EXPECT_TRUE(reboot.already_ran);
  EXPECT_EQ(testing::read_text(out_), "script\nlist\nshell\nstart\n");

  const auto fresh = run_user_data_once(items(), "i-2", options_, *runner_);
  EXPECT_FALSE(fresh.already_ran);
  EXPECT_EQ(testing::read_text(out_), "script\nlist\nshell\nstart\nscript\nlist\nshell\nstart\n");
  struct stat st {};
  ASSERT_EQ(stat((root_.path() / "var/lib/cloudtwin-agent/instances/i-2").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

class FailingRunner : public ProcessRunner {
 public:
  int run(const std::vector<std::string>& argv, const std::filesystem::path&) override {
    throw Error(ErrorCode::System, "cannot execute '" + argv[0] + "': fake");
  }
};

TEST_F(RunOnce, RunnerThatCannotStartIsRecordedPerPart) {
  FailingRunner failing;
  const auto r = run_user_data_once(items(), "i-1", options_, failing);
  ASSERT_EQ(r.parts.size(), 5u);
  EXPECT_THAT(r.parts[0].messages.at(0), HasSubstr("cannot execute"));
  EXPECT_FALSE(r.parts[1].ok);
  EXPECT_EQ(testing::read_text(root_.path() / "etc/motd"), "hi") << "write_files still applied";
}

TEST(PosixRunner, MissingProgramIsAnError) {
  testing::TempDir dir;
  auto runner = make_posix_process_runner();
  EXPECT_THAT([&] { runner->run({"cloudtwin-no-such-program"}, dir.path() / "log"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("cannot execute")));
  EXPECT_EQ(runner->run({"sh", "-c", "kill -TERM $$"}, dir.path() / "log"), 128 + 15);
}

}  // namespace
}  // namespace cloudtwin::agent
