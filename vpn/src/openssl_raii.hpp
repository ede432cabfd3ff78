#pragma once
// unique_ptr owners for OpenSSL objects and the translation of OpenSSL's error queue
// into cloudtwin::Error. Private to vpn/src: the only place OpenSSL types appear.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace cloudtwin::vpn::ossl {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};

using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509_free>>;
using Crl = std::unique_ptr<X509_CRL, Deleter<X509_CRL_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using Extension = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using Revoked = std::unique_ptr<X509_REVOKED, Deleter<X509_REVOKED_free>>;
using Integer = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using Time = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME_free>>;
using Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;

// Throws Error(System) with `what` and every reason left in OpenSSL's error queue.
[[noreturn]] void fail(const std::string& what);

template <typename T>
T* check(T* p, const char* what) {
  if (p == nullptr) fail(what);
  return p;
}
inline void check(int rc, const char* what) {
  if (rc <= 0) fail(what);
}

std::string to_pem(const X509* cert);
std::string to_pem(const X509_CRL* crl);
std::string to_pem(const EVP_PKEY* key);  // PKCS#8, unencrypted
Cert cert_from_pem(const std::string& pem, const std::string& what);
Crl crl_from_pem(const std::string& pem, const std::string& what);
Pkey key_from_pem(const std::string& pem, const std::string& what);

std::string serial_hex(const X509* cert);

}  // namespace cloudtwin::vpn::ossl
