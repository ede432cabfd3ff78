#pragma once
// Adapter: signs instance identity documents with the host's keys via OpenSSL, in the
// three forms EC2 serves (each verified against its own certificate, as on EC2):
//   signature - RSA-SHA256 over the document, base64            (host key, identity.crt)
//   pkcs7     - PKCS#7 signedData, SHA-1, document inside         (host key, identity.crt)
//   rsa2048   - PKCS#7 signedData, SHA-256, document inside       (RSA-2048 key,
//               identity-rsa2048.crt)
// PKCS#7 forms carry no certificates and no PEM armour; verify with
//   openssl smime -verify -inform PEM -in F -certfile CERT -noverify
// EC2 signs pkcs7 with a DSA key; the key type is invisible to a verifier that holds the
// matching certificate, the SHA-1 digest is not (a guest whose crypto policy refuses
// SHA-1 signatures fails on both), so the digest is EC2's and the key stays RSA.

#include <filesystem>
#include <memory>
#include <string>

#include "cloudtwin/metadata/tree.hpp"

namespace cloudtwin::metadata {

class OpenSslIdentitySigner : public IdentitySigner {
 public:
  // Loads each PEM key and certificate; when both of a pair are missing, generates a
  // 2048-bit RSA key (written 0600) and a self-signed certificate valid for ten years.
  // An empty rsa2048 path is the host's with "-rsa2048" before the extension
  // (identity.key -> identity-rsa2048.key). Throws Error(Io) naming the file when one
  // of a pair exists and the other does not, or when a file cannot be read or written.
  static std::unique_ptr<OpenSslIdentitySigner> load_or_create(
      const std::filesystem::path& key, const std::filesystem::path& cert,
      const std::filesystem::path& rsa2048_key = {},
      const std::filesystem::path& rsa2048_cert = {});
  static std::filesystem::path with_suffix(const std::filesystem::path& path,
                                           const std::string& suffix);
  ~OpenSslIdentitySigner() override;
  OpenSslIdentitySigner(const OpenSslIdentitySigner&) = delete;
  OpenSslIdentitySigner& operator=(const OpenSslIdentitySigner&) = delete;

  std::string sign(IdentityFormat format, std::string_view document) const override;
  std::string certificate_pem() const;          // verifies signature and pkcs7
  std::string rsa2048_certificate_pem() const;  // verifies rsa2048

 private:
  struct Impl;
  explicit OpenSslIdentitySigner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloudtwin::metadata
