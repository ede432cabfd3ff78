#include "cloudtwin/aws/adapters/openssl_crypto.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::aws {

Digest OpenSslCrypto::sha256(std::string_view data) const {
  Digest out{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
  return out;
}

Digest OpenSslCrypto::hmac_sha256(std::string_view key, std::string_view data) const {
  Digest out{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
           &length) == nullptr ||
      length != out.size()) {
    throw Error(ErrorCode::System, "OpenSSL HMAC-SHA256 failed");
  }
  return out;
}

}  // namespace cloudtwin::aws
