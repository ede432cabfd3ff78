// Connection caps in all and for unknown callers, the caps derived from the descriptor
// limit, the accept-failure log limit and the config keys that set them.
#include <gtest/gtest.h>

#include "cloudtwin/core/error.hpp"
#include "cloudtwin/metadata/config.hpp"
#include "cloudtwin/metadata/limits.hpp"

namespace cloudtwin::metadata {
namespace {

using namespace std::chrono_literals;

TEST(ConnectionCaps, GlobalAndUnknownCapsHoldAcrossKeys) {
  ConnectionCounter c(/*per key*/ 3, /*total*/ 5, /*unknown*/ 2);
  EXPECT_TRUE(c.open("?a", false));
  EXPECT_TRUE(c.open("?b", false));
  EXPECT_FALSE(c.open("?c", false)) << "unknown callers together are capped";
  EXPECT_TRUE(c.open("i-1"));
  EXPECT_TRUE(c.open("i-1"));
  EXPECT_TRUE(c.open("i-2"));
  EXPECT_FALSE(c.open("i-3")) << "total cap";
  EXPECT_EQ(c.total(), 5u);
  c.close("?a", false);
  EXPECT_TRUE(c.open("?c", false));
  c.close("i-2");
  EXPECT_TRUE(c.open("i-3"));
  EXPECT_FALSE(c.open("i-4"));
}

struct FdCase {
  std::size_t connections, unknown, fd_limit;
  std::size_t want_connections, want_unknown;
};

TEST(ConnectionCaps, DerivedFromTheDescriptorLimit) {
  const FdCase cases[] = {
      {0, 0, 1024, 960, 480},
      {0, 0, 65536, 65472, 32736},
      {0, 0, 64, 16, 8},
      {0, 0, 128, 64, 32},
      {100, 0, 1024, 100, 50},
      {0, 7, 1024, 960, 7},
      {100000, 0, 128, 100000, 50000},
  };
  for (const auto& c : cases) {
    LimitOptions l;
    l.connections = c.connections;
    l.connections_unknown = c.unknown;
    const auto out = connections_for_fd_limit(l, c.fd_limit);
    EXPECT_EQ(out.connections, c.want_connections) << c.fd_limit;
    EXPECT_EQ(out.connections_unknown, c.want_unknown) << c.fd_limit;
  }
}

TEST(LogRateLimit, OneLinePerIntervalWithTheCountSuppressed) {
  LogRateLimit limit(10s);
  const Clock::time_point t{std::chrono::hours(1)};
  EXPECT_EQ(limit.admit(t), std::optional<std::size_t>(0));
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limit.admit(t + 9s));
  EXPECT_EQ(limit.admit(t + 10s), std::optional<std::size_t>(1000));
  EXPECT_FALSE(limit.admit(t + 11s));
  EXPECT_EQ(limit.admit(t + 30s), std::optional<std::size_t>(1));
}

TEST(Config, HardeningKeys) {
  Config c;
  EXPECT_TRUE(apply_ini(c,
                        "[server]\nstate_dir = /srv/md\nlog_file = /var/log/md.log\n"
                        "[imds]\ntokens_per_vm = 7\n"
                        "[limits]\nconnections = 500\nconnections_unknown = 40\n",
                        "m.conf")
                  .empty());
  EXPECT_EQ(c.state_dir, "/srv/md");
  EXPECT_EQ(c.log_file, "/var/log/md.log");
  EXPECT_EQ(c.tokens_per_vm, 7u);
  EXPECT_EQ(c.limits.connections, 500u);
  EXPECT_EQ(c.limits.connections_unknown, 40u);
  for (const char* bad : {"[imds]\ntokens_per_vm = 0\n", "[server]\nstate_dir = relative\n",
                          "[server]\nlog_file = x.log\n", "[limits]\nconnections = -1\n"}) {
    Config d;
    EXPECT_THROW(apply_ini(d, bad, "m.conf"), Error) << bad;
  }
}

TEST(Config, NeedsRestartNamesWhatHangupCannotApply) {
  const Config base;
  struct Case {
    const char* ini;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"[server]\naccess_log = true\nlog_file = /x.log\n", {}},
      {"[server]\nlisten = 127.0.0.1:80\n", {"[server] listen"}},
      {"[server]\nthreads = 4\nstate_dir = /s\n", {"[server] state_dir", "[server] threads"}},
      {"[imds]\ntokens_per_vm = 5\n[limits]\nburst = 3\n", {"[imds]", "[limits]"}},
  };
  for (const auto& c : cases) {
    Config next;
    apply_ini(next, c.ini, "m.conf");
    EXPECT_EQ(needs_restart(base, next), c.want) << c.ini;
  }
}

}  // namespace
}  // namespace cloudtwin::metadata
