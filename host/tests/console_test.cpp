// The console loop against a scripted console and terminal.
#include "cloudtwin/host/console.hpp"

#include <gtest/gtest.h>

#include "fakes.hpp"

namespace cloudtwin::host {
namespace {

using testing::FailCounter;
using testing::FakeHypervisor;
using testing::ScriptedTerminal;
using Script = std::deque<std::optional<std::string>>;

TEST(Console, SplitAtEscape) {
  const struct {
    std::string in;
    std::string before;
    bool escaped;
  } cases[] = {
      {"", "", false},
      {"ls\r", "ls\r", false},
      {"\x1d", "", true},
      {"ab\x1d"
       "cd",
       "ab", true},
      {"\x1b[A", "\x1b[A", false},  // arrow keys pass through untouched
      {std::string("a\0b", 3), std::string("a\0b", 3), false},
  };
  for (const auto& c : cases) {
    const auto s = split_at_escape(c.in);
    EXPECT_EQ(std::string(s.before), c.before);
    EXPECT_EQ(s.escaped, c.escaped);
  }
}

struct Run {
  ConsoleEnd end;
  std::string shown;  // guest -> terminal
  std::string sent;   // terminal -> guest
};

Run run(Script guest, Script keys) {
  FakeHypervisor::ScriptedConsole console(std::move(guest));
  ScriptedTerminal terminal(std::move(keys));
  const auto end = run_console(console, terminal, 0);
  return {end, terminal.output, console.sent};
}

TEST(Console, RelaysBothWaysUntilEscape) {
  const auto r = run({"login: ", "", std::string("\0\xff", 2)}, {"", "root\r", "x\x1dignored"});
  EXPECT_EQ(r.end, ConsoleEnd::Escape);
  EXPECT_EQ(r.shown, std::string("login: \0\xff", 9));
  EXPECT_EQ(r.sent, "root\rx");
}

TEST(Console, EndOfInputDrainsGuestOutputThenStops) {
  const auto r = run({"", "", "answer\n", ""}, {"cat /proc/cmdline\n"});
  EXPECT_EQ(r.end, ConsoleEnd::InputClosed);
  EXPECT_EQ(r.sent, "cat /proc/cmdline\n");
  EXPECT_EQ(r.shown, "answer\n");
}

TEST(Console, GuestClosingEndsTheSession) {
  const auto r = run({"bye\n", std::nullopt}, {"", "", ""});
  EXPECT_EQ(r.end, ConsoleEnd::ConsoleClosed);
  EXPECT_EQ(r.shown, "bye\n");
}

}  // namespace
}  // namespace cloudtwin::host
