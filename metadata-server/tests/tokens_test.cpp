// The token table is bounded per VM: one VM minting long-lived tokens evicts its own
// oldest, never another VM's, and memory stays at the cap.
#include <gtest/gtest.h>

#include "cloudtwin/metadata/tokens.hpp"
#include "test_support.hpp"

namespace cloudtwin::metadata {
namespace {

using namespace std::chrono_literals;

TEST(TokenCap, DefaultCapBoundsOneVmMintingLongLivedTokens) {
  testing::CountingRandom random;
  TokenService tokens(random);
  const Clock::time_point t{std::chrono::hours(1)};
  const auto other = tokens.issue("i-quiet", 21600s, t);
  const auto first = tokens.issue("i-noisy", 21600s, t);
  for (int n = 0; n < 100'000; ++n) tokens.issue("i-noisy", 21600s, t);
  EXPECT_LE(tokens.size(), 1024u + 1u);
  EXPECT_FALSE(tokens.check(first, "i-noisy", t)) << "the oldest token is evicted";
  EXPECT_TRUE(tokens.check(other, "i-quiet", t)) << "another VM's token is kept";
}

struct CapCase {
  std::size_t cap;
  int issued;
  std::vector<bool> valid;  // per token issued, in order
};

class TokenCapTable : public ::testing::TestWithParam<CapCase> {};

TEST_P(TokenCapTable, OldestEvictedFirst) {
  const auto& c = GetParam();
  testing::CountingRandom random;
  TokenService tokens(random, c.cap);
  const Clock::time_point t{std::chrono::hours(1)};
  std::vector<std::string> issued;
  for (int n = 0; n < c.issued; ++n) issued.push_back(tokens.issue("i-a", 600s, t));
  const auto b = tokens.issue("i-b", 600s, t);
  std::vector<bool> valid;
  for (const auto& tok : issued) valid.push_back(tokens.check(tok, "i-a", t).has_value());
  EXPECT_EQ(valid, c.valid);
  EXPECT_TRUE(tokens.check(b, "i-b", t));
}

INSTANTIATE_TEST_SUITE_P(Tokens, TokenCapTable,
                         ::testing::Values(CapCase{3, 2, {true, true}},
                                           CapCase{3, 3, {true, true, true}},
                                           CapCase{3, 5, {false, false, true, true, true}},
                                           CapCase{1, 3, {false, false, true}}));

// Expired tokens checked (and so erased) do not count against the cap nor pile up.
TEST(TokenCap, ExpiredTokensDoNotCountAgainstTheCap) {
  testing::CountingRandom random;
  TokenService tokens(random, 2);
  const Clock::time_point t{std::chrono::hours(1)};
  const auto a = tokens.issue("i-a", 1s, t);
  const auto keep = tokens.issue("i-a", 600s, t);
  EXPECT_FALSE(tokens.check(a, "i-a", t + 2s));  // expired: erased
  const auto c = tokens.issue("i-a", 600s, t + 2s);
  EXPECT_TRUE(tokens.check(keep, "i-a", t + 2s)) << "a live token evicted while under the cap";
  EXPECT_TRUE(tokens.check(c, "i-a", t + 2s));
  for (int n = 0; n < 5000; ++n) {
    const auto x = tokens.issue("i-a", 1s, t + 2s);
    tokens.check(x, "i-a", t + 10s);
  }
  EXPECT_LE(tokens.size(), 2u);
}

}  // namespace
}  // namespace cloudtwin::metadata
