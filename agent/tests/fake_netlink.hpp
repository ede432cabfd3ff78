#pragma once
// An in-memory Netlink: the kernel simulated by testing::simulate, able to fail the Nth
// apply() so every error path of the callers runs.

#include "cloudtwin/agent/netlink.hpp"
#include "cloudtwin/core/error.hpp"
#include "net_fixtures.hpp"

namespace cloudtwin::agent::testing {

class FakeNetlink : public Netlink {
 public:
  explicit FakeNetlink(ObservedState initial) : state(std::move(initial)) {}

  ObservedState observe() override {
    if (fail_observe) throw Error(ErrorCode::System, "cannot read links: fake failure");
    return state;
  }
  void apply(const Operation& op) override {
    ++calls;
    if (calls == fail_at)
      throw Error(ErrorCode::System, to_string(op) + ": Operation not permitted");
    simulate(state, op);
  }

  ObservedState state;
  int calls = 0;
  int fail_at = 0;  // 1-based; 0 never fails
  bool fail_observe = false;
};

}  // namespace cloudtwin::agent::testing
