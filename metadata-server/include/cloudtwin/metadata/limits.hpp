#pragma once
// One noisy VM cannot starve the others: a request rate per VM (token bucket, past it
// 429 as EC2 throttles per instance) and caps on the connections one VM (or one
// unknown source address), all unknown callers together and everyone together hold
// open. Pure and thread-safe; time comes from the caller.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cloudtwin/metadata/tokens.hpp"

namespace cloudtwin::metadata {

struct LimitOptions {
  double requests_per_second = 1024;     // per VM; 0 = unlimited (EC2: 1024 packets/s per ENI)
  double burst = 1024;                   // requests a VM may send at once after being quiet
  std::size_t connections_per_vm = 128;  // 0 = unlimited
  // Open connections in all, and those of callers in no record (per-caller caps alone
  // let ten source addresses take every descriptor). 0 = unlimited; the daemon derives
  // them from its descriptor limit (connections_for_fd_limit) when the config leaves
  // them out.
  std::size_t connections = 0;
  std::size_t connections_unknown = 0;
};

// Descriptors kept for everything but connections (listeners, logs, records, libvirt,
// the ctl socket, the reserve descriptor that sheds a connection at EMFILE).
inline constexpr std::size_t kDescriptorsKept = 64;

// Fills connections / connections_unknown left at 0 from the soft RLIMIT_NOFILE: all
// descriptors but kDescriptorsKept (at least 16), and half of that for unknown callers.
LimitOptions connections_for_fd_limit(LimitOptions limits, std::size_t fd_limit);

// At most one log line per `interval` for a repeating failure (accept at EMFILE): the
// rest are counted and reported with the next line that may go out.
class LogRateLimit {
 public:
  explicit LogRateLimit(std::chrono::milliseconds interval) : interval_(interval) {}
  // nullopt: stay quiet. Else log now, saying how many were suppressed since the last.
  std::optional<std::size_t> admit(Clock::time_point now);

 private:
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  bool logged_ = false;
  Clock::time_point last_{};
  std::size_t suppressed_ = 0;
};

class RequestThrottle {
 public:
  explicit RequestThrottle(LimitOptions options) : options_(options) {}
  // Takes one request from `vm`'s bucket; false when it is empty (answer 429).
  bool admit(const std::string& vm, Clock::time_point now);

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point last{};
  };
  LimitOptions options_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

class ConnectionCounter {
 public:
  // `cap` per key; `total` over all keys; `unknown_total` over keys opened as unknown
  // callers. 0 = unlimited.
  explicit ConnectionCounter(std::size_t cap, std::size_t total = 0, std::size_t unknown_total = 0)
      : cap_(cap), total_cap_(total), unknown_cap_(unknown_total) {}
  // Counts a new connection of `key` (a VM, or an unknown caller when !known); false
  // (and not counted) when that would pass one of the caps.
  bool open(const std::string& key, bool known = true);
  void close(const std::string& key, bool known = true);
  std::size_t count(const std::string& key) const;
  std::size_t total() const;

 private:
  std::size_t cap_;
  std::size_t total_cap_;
  std::size_t unknown_cap_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> open_;
  std::size_t total_ = 0;
  std::size_t unknown_ = 0;
};

}  // namespace cloudtwin::metadata
