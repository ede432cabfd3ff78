#pragma once
// Adapter: signs instance identity documents with the host's RSA key via OpenSSL.
//   signature - RSA-SHA256 over the document, base64
//   pkcs7     - PKCS#7 signedData (SHA-256) with the document inside, no certificates,
//   rsa2048     base64 without PEM armour; verify with
//               openssl smime -verify -inform PEM -in F -certfile CERT -noverify
// (both use the same 2048-bit RSA host key; EC2 uses a DSA key for pkcs7).

#include <filesystem>
#include <memory>
#include <string>

#include "cloudtwin/metadata/tree.hpp"

namespace cloudtwin::metadata {

class OpenSslIdentitySigner : public IdentitySigner {
 public:
  // Loads the PEM key and certificate; when both are missing, generates a 2048-bit RSA
  // key (written 0600) and a self-signed certificate valid for ten years.
  // Throws Error(Io) naming the file when one exists and the other does not, or when
  // a file cannot be read or written.
  static std::unique_ptr<OpenSslIdentitySigner> load_or_create(const std::filesystem::path& key,
                                                               const std::filesystem::path& cert);
  ~OpenSslIdentitySigner() override;
  OpenSslIdentitySigner(const OpenSslIdentitySigner&) = delete;
  OpenSslIdentitySigner& operator=(const OpenSslIdentitySigner&) = delete;

  std::string sign(IdentityFormat format, std::string_view document) const override;
  std::string certificate_pem() const;

 private:
  struct Impl;
  explicit OpenSslIdentitySigner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloudtwin::metadata
