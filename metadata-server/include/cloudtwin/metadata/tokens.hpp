#pragma once
// IMDSv2 session tokens: 32 random bytes, base64url, bound to the instance that asked
// for them, valid for the TTL it asked for. Tokens are secrets: never logged.

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cloudtwin::metadata {

using Clock = std::chrono::steady_clock;

// Source of unguessable bytes; the production one reads the OS CSPRNG.
class Random {
 public:
  virtual ~Random() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

// Base64url without padding (RFC 4648 section 5).
std::string base64url(std::span<const std::uint8_t> bytes);

class TokenService {
 public:
  static constexpr int kMinTtl = 1;
  static constexpr int kMaxTtl = 21600;
  // Live tokens one VM may hold ([imds] tokens_per_vm); its next token evicts its oldest.
  // Without a cap one VM minting 6-hour tokens grows the table by ~0.7 GB an hour.
  static constexpr std::size_t kDefaultTokensPerVm = 1024;

  explicit TokenService(Random& random, std::size_t tokens_per_vm = kDefaultTokensPerVm)
      : random_(random), tokens_per_vm_(tokens_per_vm == 0 ? 1 : tokens_per_vm) {}

  std::string issue(const std::string& instance_id, std::chrono::seconds ttl,
                    Clock::time_point now);
  // Seconds left (rounded up) when `token` was issued to `instance_id` and has not
  // expired at `now`; nullopt otherwise.
  std::optional<std::chrono::seconds> check(std::string_view token, const std::string& instance_id,
                                            Clock::time_point now);
  std::size_t size() const;

 private:
  struct Grant {
    std::string instance_id;
    Clock::time_point expires;
  };
  // A VM's tokens, oldest first; may hold tokens already erased (expired and checked),
  // skipped when evicting and dropped at the next purge.
  struct Issued {
    std::deque<std::string> order;
    std::size_t live = 0;
  };
  void purge_expired(Clock::time_point now);

  Random& random_;
  std::size_t tokens_per_vm_;
  mutable std::mutex mutex_;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string, Grant, Hash, std::equal_to<>> grants_;
  std::unordered_map<std::string, Issued> by_vm_;
  std::size_t issued_since_purge_ = 0;
};

}  // namespace cloudtwin::metadata
