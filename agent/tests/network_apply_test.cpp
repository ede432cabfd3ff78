#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cloudtwin/agent/netlink.hpp"
#include "cloudtwin/core/context_sh.hpp"
#include "fake_netlink.hpp"

namespace cloudtwin::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

NetworkPlan two_nics() {
  const core::Context ctx(
      core::parse_context_sh("ETH0_MAC='02:00:c0:a8:7a:0a'\nETH1_MAC='02:00:c0:a8:7b:0a'\nETH2_MAC="
                             "'02:00:00:00:00:09'\n"));
  return plan_from_context(ctx);
}

ObservedState two_links() {
  return ObservedState{{testing::link(2, "eth0", "02:00:c0:a8:7a:0a"),
                        testing::link(3, "eth1", "02:00:c0:a8:7b:0a")}};
}

TEST(ApplyPlan, AppliesEverythingThenNothing) {
  testing::FakeNetlink nl(two_links());
  const auto first = apply_plan(nl, two_nics());
  EXPECT_TRUE(first.ok());
  EXPECT_THAT(first.applied,
              ElementsAre("link set eth0 up", "addr add 192.168.122.10/24 dev eth0",
                          "route add default via 192.168.122.1 dev eth0", "link set eth1 up",
                          "addr add 192.168.123.10/24 dev eth1"));
  ASSERT_EQ(first.warnings.size(), 1u);
  EXPECT_THAT(first.warnings[0], ::testing::HasSubstr("ETH2: no interface with MAC"));
  const auto second = apply_plan(nl, two_nics());
  EXPECT_THAT(second.applied, IsEmpty());
  EXPECT_TRUE(second.ok());
}

// Each operation failing in turn: the failure is reported, every other operation runs,
// and a second run completes what is missing.
TEST(ApplyPlan, EachFailureIsReportedAndTheRestStillRuns) {
  for (int n = 1; n <= 5; ++n) {
    testing::FakeNetlink nl(two_links());
    nl.fail_at = n;
    const auto first = apply_plan(nl, two_nics());
    ASSERT_EQ(first.errors.size(), 1u) << n;
    EXPECT_THAT(first.errors[0], ::testing::HasSubstr("Operation not permitted"));
    EXPECT_EQ(first.applied.size(), 4u) << n;
    nl.fail_at = 0;
    const auto second = apply_plan(nl, two_nics());
    EXPECT_EQ(second.applied.size(), 1u) << n;
    EXPECT_TRUE(second.ok());
  }
}

// From a state the caller observed: no second dump, the same operations.
TEST(ApplyPlan, FromAnObservedStateDoesNotObserveAgain) {
  testing::FakeNetlink nl(two_links());
  nl.fail_observe = true;
  const auto first = apply_plan(nl, two_nics(), two_links());
  EXPECT_TRUE(first.ok());
  EXPECT_THAT(first.applied,
              ElementsAre("link set eth0 up", "addr add 192.168.122.10/24 dev eth0",
                          "route add default via 192.168.122.1 dev eth0", "link set eth1 up",
                          "addr add 192.168.123.10/24 dev eth1"));
  nl.fail_observe = false;
  EXPECT_THAT(apply_plan(nl, two_nics()).applied, IsEmpty());
}

TEST(ApplyPlan, ObserveFailureThrows) {
  testing::FakeNetlink nl(two_links());
  nl.fail_observe = true;
  EXPECT_THROW(apply_plan(nl, two_nics()), Error);
}

}  // namespace
}  // namespace cloudtwin::agent
