#include "cloudtwin/core/strings.hpp"

#include <gtest/gtest.h>

namespace cloudtwin::core {
namespace {

TEST(Strings, Trim) {
  const struct {
    std::string_view in, out;
  } cases[] = {{"", ""},      {"   ", ""}, {"a", "a"}, {" a ", "a"}, {"\t a b \r\n", "a b"},
               {"\va\f", "a"}};
  for (const auto& c : cases) EXPECT_EQ(trim(c.in), c.out) << "'" << c.in << "'";
}

TEST(Strings, Case) {
  EXPECT_EQ(upper("eth0_Ip-é"), "ETH0_IP-é");
  EXPECT_EQ(lower("ETH0_IP-É"), "eth0_ip-É");
  EXPECT_TRUE(equals_icase("Content-Type", "content-type"));
  EXPECT_FALSE(equals_icase("Content-Type", "content-typ"));
  EXPECT_TRUE(starts_with_icase("Multipart/Mixed; boundary=x", "multipart/"));
  EXPECT_FALSE(starts_with_icase("multi", "multipart/"));
}

TEST(Strings, XmlEscape) {
  EXPECT_EQ(xml_escape(""), "");
  EXPECT_EQ(xml_escape("plain /path-1"), "plain /path-1");
  EXPECT_EQ(xml_escape("<a href=\"x\">Tom's & Jerry</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom&apos;s &amp; Jerry&lt;/a&gt;");
}

TEST(Strings, Words) {
  const struct {
    std::string_view in, seps;
    std::vector<std::string> out;
  } cases[] = {
      {"", " \t,", {}},
      {"a, b,,c", " \t,", {"a", "b", "c"}},
      {"  local\tec2 ", " \t,", {"local", "ec2"}},
      {"t3.micro:4, m5.large:1", ",", {"t3.micro:4", "m5.large:1"}},
  };
  for (const auto& c : cases) EXPECT_EQ(words(c.in, c.seps), c.out) << "'" << c.in << "'";
}

}  // namespace
}  // namespace cloudtwin::core
