#include "cloudtwin/agent/cli.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "cloudtwin/core/error.hpp"
#include "temp_dir.hpp"

namespace cloudtwin::agent {
namespace {

using ::testing::HasSubstr;

struct CliCase {
  std::vector<std::string> args;
  int exit_code;
  std::string out_contains;
  std::string err_contains;
};

TEST(AgentCli, Table) {
  const CliCase cases[] = {
      {{"--help"}, 0, "usage: cloudtwin-agent", ""},
      {{"--version"}, 0, "cloudtwin-agent 0.", ""},
      {{"--bogus"}, 2, "", "unknown command or option '--bogus'"},
      {{"--root"}, 2, "", "option --root needs a value"},
      {{"--root", "/tmp"}, 2, "", "no command: expected local, final or status"},
      {{"local", "final"}, 2, "", "unknown command or option 'final'"},
      {{"local", "--datasources", "context azure"}, 2, "", "unknown datasource 'azure'"},
      {{"local", "--config", "/nonexistent/agent.conf"},
       2,
       "",
       "/nonexistent/agent.conf does not exist"},
      {{"local", "--metadata-url", "http://metadata.internal", "--datasources", "ec2"},
       2,
       "",
       "names are never looked up"},
      {{"local", "--cd-attempts", "0"},
       2,
       "",
       "--cd-attempts '0': expected a number from 1 to 600"},
  };
  for (const auto& c : cases) {
    std::ostringstream out, err;
    EXPECT_EQ(run_cli(c.args, out, err), c.exit_code) << c.args[0];
    EXPECT_NE(out.str().find(c.out_contains), std::string::npos) << out.str();
    EXPECT_NE(err.str().find(c.err_contains), std::string::npos) << err.str();
  }
}

TEST(AgentCli, ParseOptions) {
  const auto o =
      parse_cli({"final", "--root", "/tmp/r", "--state-dir", "/st", "--context-device", "x.iso"});
  EXPECT_EQ(o.command, "final");
  EXPECT_EQ(o.agent.root, "/tmp/r");
  EXPECT_EQ(o.agent.state_dir, "/st");
  EXPECT_EQ(o.locations.at("context"), "x.iso");
  EXPECT_FALSE(o.agent.set_kernel_hostname) << "never set the kernel's name for a test root";
  EXPECT_TRUE(parse_cli({"status"}).agent.set_kernel_hostname);
}

// `final` and `status` end to end from a real ISO into a temp root. (`local` changes the
// network, so it runs only in the netns tests.)
TEST(AgentCli, FinalFromIsoThenStatus) {
  if (!testing::have_program("genisoimage")) GTEST_SKIP() << "genisoimage is not installed";
  testing::TempDir dir;
  const auto iso = testing::make_iso(
      dir, {{"context.sh", "SET_HOSTNAME='cd-host'\nSSH_PUBLIC_KEY='ssh-ed25519 AAAA me@x'\n"}});
  const auto root = dir.path() / "root";
  testing::write_file(root / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  const std::vector<std::string> args = {"final", "--root", root.string(), "--context-device",
                                         iso.string()};
  std::ostringstream out, err;
  ASSERT_EQ(run_cli(args, out, err), 0) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("cloudtwin-agent final: context-cd (" + iso.string() +
                                   "): 2 ok, 3 skipped, 0 errors"));
  EXPECT_EQ(testing::read_text(root / "etc/hostname"), "cd-host\n");
  EXPECT_EQ(testing::read_text(root / "root/.ssh/authorized_keys"), "ssh-ed25519 AAAA me@x\n");
  std::ostringstream again, err2;
  ASSERT_EQ(run_cli(args, again, err2), 0);
  EXPECT_EQ(testing::read_text(root / "root/.ssh/authorized_keys"), "ssh-ed25519 AAAA me@x\n");
  std::ostringstream status, err3;
  EXPECT_EQ(run_cli({"status", "--root", root.string()}, status, err3), 0);
  EXPECT_THAT(status.str(), HasSubstr("\"datasource\": \"context-cd\""));
}

TEST(AgentCli, BrokenContextCdIsAnErrorWithExitOne) {
  testing::TempDir dir;
  testing::write_file(dir.path() / "junk.iso", std::string(40000, 'x'));
  std::ostringstream out, err;
  EXPECT_EQ(run_cli({"final", "--root", dir.path().string(), "--context-device",
                     (dir.path() / "junk.iso").string()},
                    out, err),
            1);
  EXPECT_THAT(err.str(), HasSubstr("context-cd: context CD " + (dir.path() / "junk.iso").string()));
}

}  // namespace
}  // namespace cloudtwin::agent
