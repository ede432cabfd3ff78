#pragma once
// The overlay's PKI, made with OpenSSL's C API (no openssl/easy-rsa subprocess).
// Keys are EC P-256; certificates are X.509 v3 signed with SHA-256; serials are random
// 128-bit positive numbers. Everything crosses this interface as PEM text, so callers
// never see OpenSSL types. Errors throw cloudtwin::Error carrying OpenSSL's reason.

#include <cstdint>
#include <string>
#include <vector>

namespace cloudtwin::vpn {

struct CertAndKey {
  std::string cert_pem;
  std::string key_pem;     // PKCS#8, unencrypted: store it 0600
  std::string serial_hex;  // uppercase hex
};

struct Validity {
  std::int64_t now = 0;  // unix seconds
  int days = 0;
};

// Self-signed CA: basicConstraints critical CA:TRUE, keyUsage critical keyCertSign,cRLSign.
CertAndKey make_ca(const std::string& common_name, const Validity& validity);

// Server certificate: keyUsage digitalSignature,keyAgreement; extendedKeyUsage serverAuth;
// subjectAltName from entries such as "DNS:vpn.example.org" or "IP:198.51.100.1".
CertAndKey make_server_cert(const CertAndKey& ca, const std::string& common_name,
                            const std::vector<std::string>& subject_alt_names,
                            const Validity& validity);

// Client certificate for one VM: CN = vm id; extendedKeyUsage clientAuth.
CertAndKey make_client_cert(const CertAndKey& ca, const std::string& common_name,
                            const Validity& validity);

struct RevokedSerial {
  std::string serial_hex;
  std::int64_t revoked_at = 0;
};

// A v2 CRL signed by the CA listing `revoked`; crlNumber = `number`. OpenVPN refuses every
// client once nextUpdate passes, so `validity.days` should be long (the CRL is re-signed
// on every init and revoke).
std::string make_crl(const CertAndKey& ca, const std::vector<RevokedSerial>& revoked,
                     std::int64_t number, const Validity& validity);

std::vector<std::uint8_t> random_bytes(std::size_t count);

// Checks that the PEM texts parse and the certificate matches the private key; throws
// Error naming `what` otherwise (a corrupt or mismatched state dir).
void check_cert_and_key(const CertAndKey& pair, const std::string& what);

}  // namespace cloudtwin::vpn
