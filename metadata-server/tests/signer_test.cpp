#include "cloudtwin/metadata/openssl_signer.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cloudtwin/core/error.hpp"
#include "test_support.hpp"

namespace cloudtwin::metadata {
namespace {

namespace fs = std::filesystem;

class SignerTest : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() / ("cloudtwin-signer-" + std::to_string(::getpid()));
  void SetUp() override { fs::remove_all(dir); }
  void TearDown() override { fs::remove_all(dir); }
};

X509* read_cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

std::string verify_pkcs7(const std::string& base64, X509* cert) {
  const std::string pem = "-----BEGIN PKCS7-----\n" + base64 + "\n-----END PKCS7-----\n";
  BIO* in = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  PKCS7* p7 = PEM_read_bio_PKCS7(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  if (!p7) return "<unparseable>";
  STACK_OF(X509)* certs = sk_X509_new_null();
  sk_X509_push(certs, cert);
  BIO* out = BIO_new(BIO_s_mem());
  const int ok = PKCS7_verify(p7, certs, nullptr, nullptr, out, PKCS7_NOVERIFY);
  std::string content(BIO_ctrl_pending(out), '\0');
  BIO_read(out, content.data(), static_cast<int>(content.size()));
  BIO_free(out);
  sk_X509_free(certs);
  PKCS7_free(p7);
  return ok == 1 ? content : "<bad signature>";
}

int digest_of(const std::string& base64) {
  const std::string pem = "-----BEGIN PKCS7-----\n" + base64 + "\n-----END PKCS7-----\n";
  BIO* in = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  PKCS7* p7 = PEM_read_bio_PKCS7(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  if (!p7) return 0;
  const auto* infos = PKCS7_get_signer_info(p7);
  const int nid = sk_PKCS7_SIGNER_INFO_num(infos) == 1
                      ? OBJ_obj2nid(sk_PKCS7_SIGNER_INFO_value(infos, 0)->digest_alg->algorithm)
                      : 0;
  PKCS7_free(p7);
  return nid;
}

TEST_F(SignerTest, GeneratesKeyPairAndSignaturesVerify) {
  const auto signer = OpenSslIdentitySigner::load_or_create(dir / "k" / "id.key", dir / "id.crt");
  struct stat st {};
  ASSERT_EQ(::stat((dir / "k" / "id.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const auto doc = identity_document(testing::sample_instance());
  X509* cert = read_cert(signer->certificate_pem());
  ASSERT_NE(cert, nullptr);
  X509* rsa2048_cert = read_cert(signer->rsa2048_certificate_pem());
  ASSERT_NE(rsa2048_cert, nullptr);
  ASSERT_EQ(::stat((dir / "k" / "id-rsa2048.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // pkcs7: the host key, SHA-1 as EC2's; rsa2048: its own key, SHA-256. Each verifies
  // with its own certificate only.
  const auto pkcs7 = signer->sign(IdentityFormat::Pkcs7, doc);
  const auto rsa2048 = signer->sign(IdentityFormat::Rsa2048, doc);
  EXPECT_NE(pkcs7, rsa2048);
  EXPECT_EQ(pkcs7.find("-----"), std::string::npos);
  EXPECT_EQ(verify_pkcs7(pkcs7, cert), doc);
  EXPECT_EQ(verify_pkcs7(rsa2048, rsa2048_cert), doc);
  EXPECT_EQ(verify_pkcs7(pkcs7, rsa2048_cert), "<bad signature>");
  EXPECT_EQ(verify_pkcs7(rsa2048, cert), "<bad signature>");
  EXPECT_EQ(digest_of(pkcs7), NID_sha1);
  EXPECT_EQ(digest_of(rsa2048), NID_sha256);
  EXPECT_EQ(verify_pkcs7(signer->sign(IdentityFormat::Rsa2048, doc + " "), rsa2048_cert),
            doc + " ");
  // The command the README gives guests, against each certificate.
  const auto verify_cli = [&](const std::string& b64, const std::string& cert_pem) {
    std::ofstream(dir / "sig") << "-----BEGIN PKCS7-----\n" << b64 << "\n-----END PKCS7-----\n";
    std::ofstream(dir / "cert") << cert_pem;
    const auto cmd = "openssl smime -verify -inform PEM -in " + (dir / "sig").string() +
                     " -certfile " + (dir / "cert").string() + " -noverify 2>/dev/null";
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
      char buf[512];
      for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
      ::pclose(p);
    }
    return out;
  };
  EXPECT_EQ(verify_cli(pkcs7, signer->certificate_pem()), doc);
  EXPECT_EQ(verify_cli(rsa2048, signer->rsa2048_certificate_pem()), doc);
  EXPECT_EQ(verify_cli(rsa2048, signer->certificate_pem()), "");
  X509_free(rsa2048_cert);

  // signature: RSA-SHA256 over the document, base64.
  const auto sig_b64 = signer->sign(IdentityFormat::Signature, doc);
  std::string compact;
  for (const char c : sig_b64)
    if (c != '\n') compact += c;
  std::string sig(compact.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(sig.data()),
                                reinterpret_cast<const unsigned char*>(compact.data()),
                                static_cast<int>(compact.size()));
  ASSERT_EQ(n, 258);  // 256 bytes + 2 padding zeros from the decoder
  sig.resize(256);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, X509_get0_pubkey(cert));
  EXPECT_EQ(EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(doc.data()), doc.size()),
            1);
  EVP_MD_CTX_free(ctx);
  X509_free(cert);

  // Loads the same pair on the next start.
  const auto again = OpenSslIdentitySigner::load_or_create(dir / "k" / "id.key", dir / "id.crt");
  EXPECT_EQ(again->certificate_pem(), signer->certificate_pem());
}

TEST_F(SignerTest, HalfAPairIsAnError) {
  OpenSslIdentitySigner::load_or_create(dir / "id.key", dir / "id.crt");
  fs::remove(dir / "id.crt");
  try {
    OpenSslIdentitySigner::load_or_create(dir / "id.key", dir / "id.crt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("id.crt is missing"), std::string::npos) << e.what();
  }
}

TEST_F(SignerTest, TreeServesSignatures) {
  const auto signer = OpenSslIdentitySigner::load_or_create(dir / "id.key", dir / "id.crt");
  const auto tree = build_tree(testing::sample_instance(), signer.get());
  EXPECT_EQ(tree.find("dynamic/instance-identity/").body, "document\npkcs7\nrsa2048\nsignature");
  X509* cert = read_cert(signer->certificate_pem());
  X509* rsa2048_cert = read_cert(signer->rsa2048_certificate_pem());
  const auto& doc = tree.find("dynamic/instance-identity/document").body;
  EXPECT_EQ(verify_pkcs7(std::string(tree.find("dynamic/instance-identity/pkcs7").value()), cert),
            doc);
  EXPECT_EQ(verify_pkcs7(std::string(tree.find("dynamic/instance-identity/rsa2048").value()),
                         rsa2048_cert),
            doc);
  X509_free(rsa2048_cert);
  X509_free(cert);
}

}  // namespace
}  // namespace cloudtwin::metadata
