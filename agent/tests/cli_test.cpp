#include "cloudtwin/agent/cli.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace cloudtwin::agent {
namespace {

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
  };
  for (const auto& c : cases) {
    std::ostringstream out, err;
    EXPECT_EQ(run_cli(c.args, out, err), c.exit_code) << c.args[0];
    EXPECT_NE(out.str().find(c.out_contains), std::string::npos) << out.str();
    EXPECT_NE(err.str().find(c.err_contains), std::string::npos) << err.str();
  }
}

}  // namespace
}  // namespace cloudtwin::agent
