#pragma once
// One noisy VM cannot starve the others: a request rate per VM (token bucket, past it
// 429 as EC2 throttles per instance) and a cap on the connections one VM (or one
// unknown source address) holds open. Pure and thread-safe; time comes from the caller.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cloudtwin/metadata/tokens.hpp"

namespace cloudtwin::metadata {

struct LimitOptions {
  double requests_per_second = 1024;     // per VM; 0 = unlimited (EC2: 1024 packets/s per ENI)
  double burst = 1024;                   // requests a VM may send at once after being quiet
  std::size_t connections_per_vm = 128;  // 0 = unlimited
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
  explicit ConnectionCounter(std::size_t cap) : cap_(cap) {}
  // Counts a new connection of `key`; false (and not counted) when it has `cap` already.
  bool open(const std::string& key);
  void close(const std::string& key);
  std::size_t count(const std::string& key) const;

 private:
  std::size_t cap_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::size_t> open_;
};

}  // namespace cloudtwin::metadata
