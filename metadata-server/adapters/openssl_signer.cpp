#include "cloudtwin/metadata/openssl_signer.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>

#include "cloudtwin/core/error.hpp"

namespace cloudtwin::metadata {

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free_all(b); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct Pkcs7Free {
  void operator()(PKCS7* p) const { PKCS7_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using File = std::unique_ptr<FILE, FileClose>;

[[noreturn]] void fail(const std::string& what) {
  const unsigned long code = ERR_get_error();
  char buf[256] = "";
  if (code != 0) ERR_error_string_n(code, buf, sizeof buf);
  throw Error(ErrorCode::Io, what + (code != 0 ? std::string(": ") + buf : std::string()));
}

std::string drain(BIO* bio) {
  std::string out(BIO_ctrl_pending(bio), '\0');
  if (!out.empty() &&
      BIO_read(bio, out.data(), static_cast<int>(out.size())) != static_cast<int>(out.size())) {
    fail("reading an OpenSSL memory buffer");
  }
  return out;
}

// PEM body without the BEGIN/END lines: EC2 serves base64 text only.
std::string strip_pem(const std::string& pem) {
  std::string out;
  std::size_t pos = 0;
  while (pos < pem.size()) {
    auto end = pem.find('\n', pos);
    if (end == std::string::npos) end = pem.size();
    const auto line = pem.substr(pos, end - pos);
    if (!line.empty() && line.rfind("-----", 0) != 0) {
      if (!out.empty()) out += '\n';
      out += line;
    }
    pos = end + 1;
  }
  return out;
}

std::string base64_lines(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  std::string wrapped;
  for (std::size_t i = 0; i < out.size(); i += 64) {
    if (i) wrapped += '\n';
    wrapped += out.substr(i, 64);
  }
  return wrapped;
}

File open_file(const std::filesystem::path& path, int flags, mode_t mode, const char* fmode) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) fail(path.string() + ": cannot open");
  FILE* f = ::fdopen(fd, fmode);
  if (!f) {
    ::close(fd);
    fail(path.string() + ": cannot open");
  }
  return File(f);
}

struct Pair {
  Key key;
  Cert cert;
};

void generate(const std::filesystem::path& key_path, const std::filesystem::path& cert_path,
              const char* common_name) {
  Key key(EVP_RSA_gen(2048));
  if (!key) fail("generating an RSA key");
  Cert cert(X509_new());
  if (!cert) fail("creating a certificate");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  const auto cn = reinterpret_cast<const unsigned char*>(common_name);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) fail("self-signing the certificate");
  if (key_path.has_parent_path()) std::filesystem::create_directories(key_path.parent_path());
  if (cert_path.has_parent_path()) std::filesystem::create_directories(cert_path.parent_path());
  {
    auto f = open_file(key_path, O_WRONLY | O_CREAT | O_EXCL, 0600, "w");
    if (PEM_write_PrivateKey(f.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 0) {
      fail(key_path.string() + ": cannot write the key");
    }
  }
  auto f = open_file(cert_path, O_WRONLY | O_CREAT | O_EXCL, 0644, "w");
  if (PEM_write_X509(f.get(), cert.get()) == 0)
    fail(cert_path.string() + ": cannot write the certificate");
}

// Loads a PEM key and its certificate, generating both when both are missing.
Pair load_pair(const std::filesystem::path& key, const std::filesystem::path& cert,
               const char* common_name) {
  const bool have_key = std::filesystem::exists(key);
  const bool have_cert = std::filesystem::exists(cert);
  if (have_key != have_cert) {
    throw Error(ErrorCode::Io, (have_key ? cert : key).string() + " is missing while " +
                                   (have_key ? key : cert).string() +
                                   " exists; restore it or remove both to generate a new pair");
  }
  if (!have_key) generate(key, cert, common_name);
  Pair pair;
  {
    auto f = open_file(key, O_RDONLY, 0, "r");
    pair.key.reset(PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr));
    if (!pair.key) fail(key.string() + ": not a PEM private key");
  }
  auto f = open_file(cert, O_RDONLY, 0, "r");
  pair.cert.reset(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  if (!pair.cert) fail(cert.string() + ": not a PEM certificate");
  if (X509_check_private_key(pair.cert.get(), pair.key.get()) != 1) {
    fail(cert.string() + " does not belong to the key " + key.string());
  }
  return pair;
}

// PKCS#7 signedData with the document inside and no certificates, as EC2 serves it.
std::string pkcs7_sign(const Pair& pair, const EVP_MD* digest, std::string_view document) {
  Bio in(BIO_new_mem_buf(document.data(), static_cast<int>(document.size())));
  if (!in) fail("allocating a BIO");
  constexpr int kFlags = PKCS7_BINARY | PKCS7_NOCERTS | PKCS7_PARTIAL;
  std::unique_ptr<PKCS7, Pkcs7Free> p7(PKCS7_sign(nullptr, nullptr, nullptr, nullptr, kFlags));
  if (!p7 || !PKCS7_sign_add_signer(p7.get(), pair.cert.get(), pair.key.get(), digest, kFlags) ||
      PKCS7_final(p7.get(), in.get(), kFlags) != 1) {
    fail("making the PKCS#7 signature");
  }
  Bio out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_PKCS7(out.get(), p7.get()) != 1) fail("writing the PKCS#7 signature");
  return strip_pem(drain(out.get()));
}

std::string pem_of(const Cert& cert) {
  Bio out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509(out.get(), cert.get()) != 1) fail("writing the certificate");
  return drain(out.get());
}

}  // namespace

struct OpenSslIdentitySigner::Impl {
  Pair host;     // signature, pkcs7
  Pair rsa2048;  // rsa2048
};

OpenSslIdentitySigner::OpenSslIdentitySigner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OpenSslIdentitySigner::~OpenSslIdentitySigner() = default;

std::unique_ptr<OpenSslIdentitySigner> OpenSslIdentitySigner::load_or_create(
    const std::filesystem::path& key, const std::filesystem::path& cert,
    const std::filesystem::path& rsa2048_key, const std::filesystem::path& rsa2048_cert) {
  auto impl = std::make_unique<Impl>();
  impl->host = load_pair(key, cert, "cloudtwin-metadata instance identity");
  impl->rsa2048 = load_pair(rsa2048_key.empty() ? with_suffix(key, "-rsa2048") : rsa2048_key,
                            rsa2048_cert.empty() ? with_suffix(cert, "-rsa2048") : rsa2048_cert,
                            "cloudtwin-metadata instance identity RSA-2048");
  return std::unique_ptr<OpenSslIdentitySigner>(new OpenSslIdentitySigner(std::move(impl)));
}

std::filesystem::path OpenSslIdentitySigner::with_suffix(const std::filesystem::path& path,
                                                         const std::string& suffix) {
  auto out = path;
  out.replace_filename(path.stem().string() + suffix + path.extension().string());
  return out;
}

std::string OpenSslIdentitySigner::sign(IdentityFormat format, std::string_view document) const {
  if (format == IdentityFormat::Pkcs7) return pkcs7_sign(impl_->host, EVP_sha1(), document);
  if (format == IdentityFormat::Rsa2048) return pkcs7_sign(impl_->rsa2048, EVP_sha256(), document);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->host.key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len,
                     reinterpret_cast<const unsigned char*>(document.data()),
                     document.size()) != 1) {
    fail("signing the identity document");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(document.data()),
                     document.size()) != 1) {
    fail("signing the identity document");
  }
  return base64_lines(reinterpret_cast<const unsigned char*>(sig.data()), len);
}

std::string OpenSslIdentitySigner::certificate_pem() const { return pem_of(impl_->host.cert); }

std::string OpenSslIdentitySigner::rsa2048_certificate_pem() const {
  return pem_of(impl_->rsa2048.cert);
}

}  // namespace cloudtwin::metadata
