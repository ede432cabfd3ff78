#include "cloudtwin/metadata/tokens.hpp"

#include <array>

namespace cloudtwin::metadata {

std::string base64url(std::span<const std::uint8_t> bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = (unsigned{bytes[i]} << 16) | (unsigned{bytes[i + 1]} << 8) | bytes[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    const unsigned v = (unsigned{bytes[i]} << 16) | (rest == 2 ? unsigned{bytes[i + 1]} << 8 : 0u);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (rest == 2) out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::string TokenService::issue(const std::string& instance_id, std::chrono::seconds ttl,
                                Clock::time_point now) {
  std::array<std::uint8_t, 32> raw{};
  random_.fill(raw);
  auto token = base64url(raw);
  const std::lock_guard lock(mutex_);
  // Expired grants are dropped in batches so memory is bounded by the PUT rate x TTL.
  if (++issued_since_purge_ >= 1024) purge_expired(now);
  auto& mine = by_vm_[instance_id];
  while (mine.live >= tokens_per_vm_ && !mine.order.empty()) {
    const auto oldest = grants_.find(mine.order.front());
    if (oldest != grants_.end() && oldest->second.instance_id == instance_id) {
      grants_.erase(oldest);
      --mine.live;
    }
    mine.order.pop_front();
  }
  grants_[token] = Grant{instance_id, now + ttl};
  mine.order.push_back(token);
  ++mine.live;
  return token;
}

std::optional<std::chrono::seconds> TokenService::check(std::string_view token,
                                                        const std::string& instance_id,
                                                        Clock::time_point now) {
  const std::lock_guard lock(mutex_);
  const auto it = grants_.find(token);
  if (it == grants_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    const auto owner = it->second.instance_id;
    grants_.erase(it);
    if (const auto v = by_vm_.find(owner); v != by_vm_.end() && v->second.live > 0)
      --v->second.live;
    return std::nullopt;
  }
  if (it->second.instance_id != instance_id) return std::nullopt;
  const auto left = it->second.expires - now;
  return std::chrono::ceil<std::chrono::seconds>(left);
}

std::size_t TokenService::size() const {
  const std::lock_guard lock(mutex_);
  return grants_.size();
}

void TokenService::purge_expired(Clock::time_point now) {
  issued_since_purge_ = 0;
  std::erase_if(grants_, [now](const auto& kv) { return kv.second.expires <= now; });
  for (auto it = by_vm_.begin(); it != by_vm_.end();) {
    auto& mine = it->second;
    std::erase_if(mine.order, [this](const std::string& t) { return !grants_.contains(t); });
    mine.live = mine.order.size();
    it = mine.order.empty() ? by_vm_.erase(it) : std::next(it);
  }
}

}  // namespace cloudtwin::metadata
