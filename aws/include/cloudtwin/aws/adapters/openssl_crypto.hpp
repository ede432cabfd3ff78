#pragma once
// SHA-256 and HMAC-SHA256 through OpenSSL.

#include "cloudtwin/aws/crypto.hpp"

namespace cloudtwin::aws {

class OpenSslCrypto : public Crypto {
 public:
  Digest sha256(std::string_view data) const override;
  Digest hmac_sha256(std::string_view key, std::string_view data) const override;
};

}  // namespace cloudtwin::aws
