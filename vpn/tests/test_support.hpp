#pragma once
// Helpers shared by the vpn tests: a temp dir removed on destruction, and certificate
// verification through OpenSSL's own X509_verify_cert.

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "openssl_raii.hpp"

namespace cloudtwin::vpn::test {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ctvpn-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline unsigned file_mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777U;
}

// X509_V_OK or the verification error. `crl_pem` empty: no CRL check. `at` 0: now.
inline int verify(const std::string& ca_pem, const std::string& cert_pem,
                  const std::string& crl_pem, int purpose, std::int64_t at = 0) {
  ossl::Store store(X509_STORE_new());
  const auto ca = ossl::cert_from_pem(ca_pem, "CA");
  X509_STORE_add_cert(store.get(), ca.get());
  if (!crl_pem.empty()) {
    const auto crl = ossl::crl_from_pem(crl_pem, "CRL");
    X509_STORE_add_crl(store.get(), crl.get());
    X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK);
  }
  const auto cert = ossl::cert_from_pem(cert_pem, "certificate");
  ossl::StoreCtx ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  if (at != 0) X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(at));
  if (X509_verify_cert(ctx.get()) == 1) return X509_V_OK;
  return X509_STORE_CTX_get_error(ctx.get());
}

inline std::string common_name(const std::string& cert_pem) {
  const auto cert = ossl::cert_from_pem(cert_pem, "certificate");
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, buf, sizeof buf);
  return buf;
}

// The PEM block between <tag> and </tag> of an inline OpenVPN profile.
inline std::string inline_block(const std::string& profile, const std::string& tag) {
  const auto open = profile.find("<" + tag + ">\n");
  const auto close = profile.find("</" + tag + ">");
  if (open == std::string::npos || close == std::string::npos) return "";
  const auto start = open + tag.size() + 3;
  return profile.substr(start, close - start);
}

}  // namespace cloudtwin::vpn::test
