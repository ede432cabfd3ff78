// The INI syntax the three configuration readers share, as a table.
#include "cloudtwin/core/ini.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::core {
namespace {

std::string flat(const std::vector<IniEntry>& entries) {
  std::string out;
  for (const auto& e : entries) out += std::to_string(e.line) + " " + e.key + "=" + e.value + "|";
  return out;
}

TEST(Ini, Entries) {
  struct Case {
    std::string text, want;
  } cases[] = {
      {"", ""},
      {"# only a comment\n; another\n\n", ""},
      {"top = 1\n", "1 .top=1|"},
      {"[a]\nx=1\n  y  =  two words  \r\n[ b ]\nz =\n", "2 a.x=1|3 a.y=two words|5 b.z=|"},
      {"[s]\nk = a = b\n", "2 s.k=a = b|"},  // the first '=' splits
      {"[s]\nk = v", "2 s.k=v|"},            // no final newline
  };
  for (const auto& c : cases) EXPECT_EQ(flat(parse_ini(c.text, "f")), c.want) << c.text;
}

TEST(Ini, ErrorsNameFileLineAndLine) {
  struct Case {
    std::string text;
    std::size_t line;
    std::string message;
  } cases[] = {
      {"[a]\n[b\n", 2, "/etc/x.conf:2:1: section header '[b' without ']'"},
      {"\n\nkey\n", 3, "/etc/x.conf:3:1: expected 'key = value', found 'key'"},
  };
  for (const auto& c : cases) {
    try {
      parse_ini(c.text, "/etc/x.conf");
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const ParseError& e) {
      EXPECT_EQ(e.line(), c.line);
      EXPECT_EQ(std::string(e.what()), c.message);
    }
  }
}

}  // namespace
}  // namespace cloudtwin::core
