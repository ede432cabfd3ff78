#include "cloudtwin/metadata/limits.hpp"

#include <algorithm>

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

bool ConnectionCounter::open(const std::string& key) {
  const std::lock_guard lock(mutex_);
  auto& n = open_[key];
  if (cap_ > 0 && n >= cap_) {
    if (n == 0) open_.erase(key);
    return false;
  }
  ++n;
  return true;
}

void ConnectionCounter::close(const std::string& key) {
  const std::lock_guard lock(mutex_);
  const auto it = open_.find(key);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

std::size_t ConnectionCounter::count(const std::string& key) const {
  const std::lock_guard lock(mutex_);
  const auto it = open_.find(key);
  return it == open_.end() ? 0 : it->second;
}

}  // namespace cloudtwin::metadata
