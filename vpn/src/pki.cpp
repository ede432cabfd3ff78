#include "cloudtwin/vpn/pki.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <ctime>

#include "cloudtwin/core/error.hpp"
#include "openssl_raii.hpp"

namespace cloudtwin::vpn {

namespace ossl {

void fail(const std::string& what) {
  std::string detail;
  for (unsigned long code = ERR_get_error(); code != 0; code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    detail += "; ";
    detail += buf;
  }
  throw Error(ErrorCode::System, "OpenSSL: " + what + detail);
}

namespace {
Bio mem_bio() { return Bio(check(BIO_new(BIO_s_mem()), "BIO_new")); }

std::string bio_text(BIO* bio) {
  BUF_MEM* mem = nullptr;
  check(static_cast<int>(BIO_ctrl(bio, BIO_C_GET_BUF_MEM_PTR, 0, &mem)), "BIO_get_mem_ptr");
  return {mem->data, mem->length};
}

Bio read_bio(const std::string& pem) {
  return Bio(check(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), "BIO_new_mem_buf"));
}
}  // namespace

std::string to_pem(const X509* cert) {
  auto bio = mem_bio();
  check(PEM_write_bio_X509(bio.get(), cert), "PEM_write_bio_X509");
  return bio_text(bio.get());
}
std::string to_pem(const X509_CRL* crl) {
  auto bio = mem_bio();
  check(PEM_write_bio_X509_CRL(bio.get(), crl), "PEM_write_bio_X509_CRL");
  return bio_text(bio.get());
}
std::string to_pem(const EVP_PKEY* key) {
  auto bio = mem_bio();
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        "PEM_write_bio_PrivateKey");
  return bio_text(bio.get());
}
Cert cert_from_pem(const std::string& pem, const std::string& what) {
  auto bio = read_bio(pem);
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) fail(what + ": not a PEM certificate");
  return cert;
}
Crl crl_from_pem(const std::string& pem, const std::string& what) {
  auto bio = read_bio(pem);
  Crl crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  if (!crl) fail(what + ": not a PEM CRL");
  return crl;
}
Pkey key_from_pem(const std::string& pem, const std::string& what) {
  auto bio = read_bio(pem);
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) fail(what + ": not a PEM private key");
  return key;
}

std::string serial_hex(const X509* cert) {
  Bignum bn(check(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr), "serial"));
  char* hex = check(BN_bn2hex(bn.get()), "BN_bn2hex");
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

}  // namespace ossl

namespace {

constexpr std::int64_t kClockSkewSeconds = 3600;  // remote VMs' clocks may lag the host's

ossl::Pkey generate_key() {
  return ossl::Pkey(
      ossl::check(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), "EC P-256 key generation"));
}

void set_random_serial(X509* cert) {
  auto bytes = random_bytes(16);
  bytes[0] &= 0x7FU;  // positive, and 16 octets in DER (RFC 5280 allows up to 20)
  if (bytes[0] == 0) bytes[0] = 0x01;
  ossl::Bignum bn(ossl::check(BN_bin2bn(bytes.data(), 16, nullptr), "BN_bin2bn"));
  ossl::check(BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)), "serial number");
}

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  ossl::Extension ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext) ossl::fail(std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
  ossl::check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

// A certificate with subject CN, random serial, validity and public key; not yet signed.
ossl::Cert new_cert(const std::string& common_name, EVP_PKEY* key, const Validity& v) {
  ossl::Cert cert(ossl::check(X509_new(), "X509_new"));
  ossl::check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");
  set_random_serial(cert.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  ossl::check(
      X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("cloudtwin"), -1, -1, 0),
      "subject O");
  ossl::check(X509_NAME_add_entry_by_txt(
                  name, "CN", MBSTRING_UTF8,
                  reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0),
              "subject CN");
  const auto now = static_cast<std::time_t>(v.now);
  ossl::check(
      ASN1_TIME_adj(X509_getm_notBefore(cert.get()), now, 0, -static_cast<long>(kClockSkewSeconds)),
      "notBefore");
  ossl::check(ASN1_TIME_adj(X509_getm_notAfter(cert.get()), now, v.days, 0), "notAfter");
  ossl::check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");
  return cert;
}

CertAndKey finish(X509* cert, EVP_PKEY* key, EVP_PKEY* signer) {
  ossl::check(X509_sign(cert, signer, EVP_sha256()), "X509_sign");
  return {ossl::to_pem(cert), ossl::to_pem(key), ossl::serial_hex(cert)};
}

CertAndKey make_leaf(const CertAndKey& ca, const std::string& common_name,
                     const std::string& ext_key_usage, const std::string& subject_alt_names,
                     const Validity& v) {
  const auto ca_cert = ossl::cert_from_pem(ca.cert_pem, "CA certificate");
  const auto ca_key = ossl::key_from_pem(ca.key_pem, "CA key");
  auto key = generate_key();
  auto cert = new_cert(common_name, key.get(), v);
  ossl::check(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get())),
              "X509_set_issuer_name");
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, ca_cert.get(), cert.get(), nullptr, nullptr, 0);
  add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature,keyAgreement");
  add_ext(cert.get(), &ctx, NID_ext_key_usage, ext_key_usage);
  add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  add_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  if (!subject_alt_names.empty()) {
    add_ext(cert.get(), &ctx, NID_subject_alt_name, subject_alt_names);
  }
  return finish(cert.get(), key.get(), ca_key.get());
}

}  // namespace

std::vector<std::uint8_t> random_bytes(std::size_t count) {
  std::vector<std::uint8_t> out(count);
  if (count > 0) ossl::check(RAND_bytes(out.data(), static_cast<int>(count)), "RAND_bytes");
  return out;
}

CertAndKey make_ca(const std::string& common_name, const Validity& v) {
  auto key = generate_key();
  auto cert = new_cert(common_name, key.get(), v);
  ossl::check(X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())),
              "X509_set_issuer_name");
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
  add_ext(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash");  // before AKI, which copies it
  add_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  return finish(cert.get(), key.get(), key.get());
}

CertAndKey make_server_cert(const CertAndKey& ca, const std::string& common_name,
                            const std::vector<std::string>& subject_alt_names, const Validity& v) {
  std::string san;
  for (const auto& name : subject_alt_names) {
    if (!san.empty()) san += ",";
    san += name;
  }
  return make_leaf(ca, common_name, "serverAuth", san, v);
}

CertAndKey make_client_cert(const CertAndKey& ca, const std::string& common_name,
                            const Validity& v) {
  return make_leaf(ca, common_name, "clientAuth", "", v);
}

std::string make_crl(const CertAndKey& ca, const std::vector<RevokedSerial>& revoked,
                     std::int64_t number, const Validity& v) {
  const auto ca_cert = ossl::cert_from_pem(ca.cert_pem, "CA certificate");
  const auto ca_key = ossl::key_from_pem(ca.key_pem, "CA key");
  ossl::Crl crl(ossl::check(X509_CRL_new(), "X509_CRL_new"));
  ossl::check(X509_CRL_set_version(crl.get(), 1), "X509_CRL_set_version");  // v2
  ossl::check(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_cert.get())),
              "X509_CRL_set_issuer_name");
  const auto now = static_cast<std::time_t>(v.now);
  ossl::Time last(ossl::check(ASN1_TIME_adj(nullptr, now, 0, 0), "lastUpdate"));
  ossl::Time next(ossl::check(ASN1_TIME_adj(nullptr, now, v.days, 0), "nextUpdate"));
  ossl::check(X509_CRL_set1_lastUpdate(crl.get(), last.get()), "X509_CRL_set1_lastUpdate");
  ossl::check(X509_CRL_set1_nextUpdate(crl.get(), next.get()), "X509_CRL_set1_nextUpdate");
  for (const auto& r : revoked) {
    BIGNUM* raw = nullptr;
    if (BN_hex2bn(&raw, r.serial_hex.c_str()) <= 0) {
      ossl::fail("revoked serial '" + r.serial_hex + "' is not hex");
    }
    ossl::Bignum bn(raw);
    ossl::Integer serial(ossl::check(BN_to_ASN1_INTEGER(bn.get(), nullptr), "serial"));
    ossl::Time when(ossl::check(
        ASN1_TIME_adj(nullptr, static_cast<std::time_t>(r.revoked_at), 0, 0), "revocationDate"));
    ossl::Revoked entry(ossl::check(X509_REVOKED_new(), "X509_REVOKED_new"));
    ossl::check(X509_REVOKED_set_serialNumber(entry.get(), serial.get()), "revoked serial");
    ossl::check(X509_REVOKED_set_revocationDate(entry.get(), when.get()), "revocationDate");
    ossl::check(X509_CRL_add0_revoked(crl.get(), entry.get()), "X509_CRL_add0_revoked");
    static_cast<void>(entry.release());  // owned by the CRL now
  }
  ossl::check(X509_CRL_sort(crl.get()), "X509_CRL_sort");
  ossl::Integer crl_number(ossl::check(ASN1_INTEGER_new(), "ASN1_INTEGER_new"));
  ossl::check(ASN1_INTEGER_set_int64(crl_number.get(), number), "crlNumber");
  ossl::check(X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, crl_number.get(), 0, 0),
              "crlNumber extension");
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, ca_cert.get(), nullptr, nullptr, crl.get(), 0);
  ossl::Extension aki(
      X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!aki) ossl::fail("CRL authorityKeyIdentifier");
  ossl::check(X509_CRL_add_ext(crl.get(), aki.get(), -1), "X509_CRL_add_ext");
  ossl::check(X509_CRL_sign(crl.get(), ca_key.get(), EVP_sha256()), "X509_CRL_sign");
  return ossl::to_pem(crl.get());
}

void check_cert_and_key(const CertAndKey& pair, const std::string& what) {
  const auto cert = ossl::cert_from_pem(pair.cert_pem, what + " certificate");
  const auto key = ossl::key_from_pem(pair.key_pem, what + " key");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    throw Error(ErrorCode::InvalidArgument,
                what + ": the certificate does not match the private key");
  }
}

}  // namespace cloudtwin::vpn
