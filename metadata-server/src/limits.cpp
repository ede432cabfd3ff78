#include "cloudtwin/metadata/limits.hpp"

#include <algorithm>
#include <utility>

namespace cloudtwin::metadata {

bool RequestThrottle::admit(const std::string& vm, Clock::time_point now) {
  if (options_.requests_per_second <= 0) return true;
  const std::lock_guard lock(mutex_);
  auto [it, fresh] = buckets_.try_emplace(vm);
  auto& b = it->second;
  if (fresh) {
    b.tokens = options_.burst;
  } else {
    const std::chrono::duration<double> elapsed = now - b.last;
    b.tokens = std::min(options_.burst,
                        b.tokens + std::max(0.0, elapsed.count()) * options_.requests_per_second);
  }
  b.last = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

bool ConnectionCounter::open(const std::string& key, bool known) {
  const std::lock_guard lock(mutex_);
  if (total_cap_ > 0 && total_ >= total_cap_) return false;
  if (!known && unknown_cap_ > 0 && unknown_ >= unknown_cap_) return false;
  auto& n = open_[key];
  if (cap_ > 0 && n >= cap_) {
    if (n == 0) open_.erase(key);
    return false;
  }
  ++n;
  ++total_;
  if (!known) ++unknown_;
  return true;
}

void ConnectionCounter::close(const std::string& key, bool known) {
  const std::lock_guard lock(mutex_);
  const auto it = open_.find(key);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
  --total_;
  if (!known && unknown_ > 0) --unknown_;
}

std::size_t ConnectionCounter::total() const {
  const std::lock_guard lock(mutex_);
  return total_;
}

LimitOptions connections_for_fd_limit(LimitOptions limits, std::size_t fd_limit) {
  if (limits.connections == 0) {
    limits.connections = fd_limit > kDescriptorsKept + 16 ? fd_limit - kDescriptorsKept : 16;
  }
  if (limits.connections_unknown == 0) limits.connections_unknown = (limits.connections + 1) / 2;
  return limits;
}

std::optional<std::size_t> LogRateLimit::admit(Clock::time_point now) {
  const std::lock_guard lock(mutex_);
  if (logged_ && now - last_ < interval_) {
    ++suppressed_;
    return std::nullopt;
  }
  logged_ = true;
  last_ = now;
  return std::exchange(suppressed_, 0);
}

std::size_t ConnectionCounter::count(const std::string& key) const {
  const std::lock_guard lock(mutex_);
  const auto it = open_.find(key);
  return it == open_.end() ? 0 : it->second;
}

}  // namespace cloudtwin::metadata
