#pragma once
// The two hash functions SigV4 needs, behind an interface so that the signer stays pure
// (the OpenSSL implementation is in adapters/openssl_crypto.hpp).

#include <array>
#include <string>
#include <string_view>

namespace cloudtwin::aws {

using Digest = std::array<unsigned char, 32>;

class Crypto {
 public:
  virtual ~Crypto() = default;
  virtual Digest sha256(std::string_view data) const = 0;
  virtual Digest hmac_sha256(std::string_view key, std::string_view data) const = 0;
};

// Lower-case hex, as SigV4 writes hashes and signatures.
std::string hex(const Digest& digest);
std::string_view as_view(const Digest& digest) noexcept;

}  // namespace cloudtwin::aws
