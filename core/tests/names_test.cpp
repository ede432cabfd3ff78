#include "cloudtwin/core/names.hpp"

#include <gtest/gtest.h>

namespace cloudtwin::core {
namespace {

TEST(Names, IsPlainName) {
  const struct {
    std::string_view name;
    std::size_t max;
    bool ok;
  } cases[] = {
      {"a", 63, true},      {"web-1.example_A", 63, true},
      {"", 63, false},      {".hidden", 63, false},
      {"-x", 63, false},    {"a/b", 63, false},
      {"a b", 63, false},   {"ä", 63, false},
      {"abc", 3, true},     {"abcd", 3, false},
      {"9lives", 64, true}, {"x\n", 64, false},
  };
  for (const auto& c : cases) EXPECT_EQ(is_plain_name(c.name, c.max), c.ok) << c.name;
}

}  // namespace
}  // namespace cloudtwin::core
