#include "cloudtwin/vpn/pki.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <set>

#include "cloudtwin/core/error.hpp"
#include "test_support.hpp"

namespace cloudtwin::vpn {
namespace {

using test::verify;

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

struct Pki {
  CertAndKey ca = make_ca("test CA", {now(), 3650});
  CertAndKey server =
      make_server_cert(ca, "cloudtwin-vpn", {"DNS:cloudtwin-vpn", "IP:198.51.100.1"}, {now(), 825});
  CertAndKey client = make_client_cert(ca, "i-0abc", {now(), 825});
};

TEST(Pki, CaExtensions) {
  const Pki pki;
  const auto ca = ossl::cert_from_pem(pki.ca.cert_pem, "ca");
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_get_key_usage(ca.get()),
            static_cast<std::uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  int critical = -1;
  auto* bc = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(ca.get(), NID_basic_constraints, &critical, nullptr));
  ASSERT_NE(bc, nullptr);
  EXPECT_EQ(critical, 1);
  EXPECT_NE(bc->ca, 0);
  BASIC_CONSTRAINTS_free(bc);
  EXPECT_NE(X509_get0_subject_key_id(ca.get()), nullptr);
  EXPECT_NE(X509_get0_authority_key_id(ca.get()), nullptr);
  EXPECT_EQ(X509_get_version(ca.get()), X509_VERSION_3);
  const auto key = ossl::key_from_pem(pki.ca.key_pem, "key");
  EXPECT_TRUE(EVP_PKEY_is_a(key.get(), "EC"));
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 256);
}

TEST(Pki, ServerCertificate) {
  const Pki pki;
  EXPECT_EQ(verify(pki.ca.cert_pem, pki.server.cert_pem, "", X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_EQ(verify(pki.ca.cert_pem, pki.server.cert_pem, "", X509_PURPOSE_SSL_CLIENT),
            X509_V_ERR_INVALID_PURPOSE);
  const auto cert = ossl::cert_from_pem(pki.server.cert_pem, "server");
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<std::uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_get_key_usage(cert.get()),
            static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT));
  EXPECT_EQ(X509_check_host(cert.get(), "cloudtwin-vpn", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "198.51.100.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "198.51.100.2", 0), 0);
  EXPECT_EQ(test::common_name(pki.server.cert_pem), "cloudtwin-vpn");
  const auto ca = ossl::cert_from_pem(pki.ca.cert_pem, "ca");
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(cert.get()),
                                  X509_get0_subject_key_id(ca.get())),
            0);
}

TEST(Pki, ClientCertificate) {
  const Pki pki;
  EXPECT_EQ(verify(pki.ca.cert_pem, pki.client.cert_pem, "", X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_EQ(verify(pki.ca.cert_pem, pki.client.cert_pem, "", X509_PURPOSE_SSL_SERVER),
            X509_V_ERR_INVALID_PURPOSE);
  const auto cert = ossl::cert_from_pem(pki.client.cert_pem, "client");
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<std::uint32_t>(XKU_SSL_CLIENT));
  EXPECT_EQ(test::common_name(pki.client.cert_pem), "i-0abc");
  check_cert_and_key(pki.client, "client");
  EXPECT_THROW(check_cert_and_key({pki.client.cert_pem, pki.server.key_pem, ""}, "mixed"), Error);
}

TEST(Pki, SerialsAreRandom128Bit) {
  const Pki pki;
  std::set<std::string> serials{pki.ca.serial_hex, pki.server.serial_hex, pki.client.serial_hex};
  for (int i = 0; i < 5; ++i) serials.insert(make_client_cert(pki.ca, "x", {now(), 1}).serial_hex);
  EXPECT_EQ(serials.size(), 8U);
  for (const auto& s : serials) {
    EXPECT_EQ(s.size(), 32U) << s;  // 16 octets, top bit clear, first octet nonzero
    EXPECT_LT(s[0], '8') << s;
  }
  EXPECT_EQ(ossl::serial_hex(ossl::cert_from_pem(pki.client.cert_pem, "c").get()),
            pki.client.serial_hex);
}

TEST(Pki, ValidityWindow) {
  const std::int64_t t0 = 1'800'000'000;
  const auto ca = make_ca("ca", {t0, 3650});
  const auto client = make_client_cert(ca, "vm", {t0, 10});
  const auto at = [&](std::int64_t t) {
    return verify(ca.cert_pem, client.cert_pem, "", X509_PURPOSE_SSL_CLIENT, t);
  };
  EXPECT_EQ(at(t0), X509_V_OK);
  EXPECT_EQ(at(t0 - 1800), X509_V_OK);  // tolerated clock skew
  EXPECT_EQ(at(t0 - 7200), X509_V_ERR_CERT_NOT_YET_VALID);
  EXPECT_EQ(at(t0 + 11 * 86400), X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST(Pki, CrlRevokesOnlyListedSerials) {
  const Pki pki;
  const auto other = make_client_cert(pki.ca, "i-0def", {now(), 825});
  const auto crl = make_crl(pki.ca, {{pki.client.serial_hex, now()}}, 7, {now(), 30});
  EXPECT_EQ(verify(pki.ca.cert_pem, pki.client.cert_pem, crl, X509_PURPOSE_SSL_CLIENT),
            X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(verify(pki.ca.cert_pem, other.cert_pem, crl, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  const auto empty = make_crl(pki.ca, {}, 1, {now(), 30});
  EXPECT_EQ(verify(pki.ca.cert_pem, pki.client.cert_pem, empty, X509_PURPOSE_SSL_CLIENT),
            X509_V_OK);

  const auto parsed = ossl::crl_from_pem(crl, "crl");
  const auto ca = ossl::cert_from_pem(pki.ca.cert_pem, "ca");
  const auto ca_key = X509_get0_pubkey(ca.get());
  EXPECT_EQ(X509_CRL_verify(parsed.get(), ca_key), 1);
  EXPECT_EQ(X509_CRL_get_version(parsed.get()), 1);
  EXPECT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(parsed.get())), 1);
  auto* number = static_cast<ASN1_INTEGER*>(
      X509_CRL_get_ext_d2i(parsed.get(), NID_crl_number, nullptr, nullptr));
  ASSERT_NE(number, nullptr);
  EXPECT_EQ(ASN1_INTEGER_get(number), 7);
  ASN1_INTEGER_free(number);
}

TEST(Pki, ExpiredCrlFailsVerification) {
  const Pki pki;
  const auto crl = make_crl(pki.ca, {}, 1, {now() - 3 * 86400, 1});
  EXPECT_EQ(verify(pki.ca.cert_pem, pki.client.cert_pem, crl, X509_PURPOSE_SSL_CLIENT),
            X509_V_ERR_CRL_HAS_EXPIRED);
}

TEST(Pki, OtherCaIsRefused) {
  const Pki pki;
  const Pki other;
  EXPECT_EQ(verify(pki.ca.cert_pem, other.client.cert_pem, "", X509_PURPOSE_SSL_CLIENT),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

TEST(Pki, BadInputThrows) {
  const Pki pki;
  EXPECT_THROW(make_client_cert({"garbage", pki.ca.key_pem, ""}, "vm", {now(), 1}), Error);
  EXPECT_THROW(make_client_cert({pki.ca.cert_pem, "garbage", ""}, "vm", {now(), 1}), Error);
  EXPECT_THROW(make_crl(pki.ca, {{"not-hex", 0}}, 1, {now(), 1}), Error);
  EXPECT_EQ(random_bytes(0).size(), 0U);
  EXPECT_NE(random_bytes(32), random_bytes(32));
}

}  // namespace
}  // namespace cloudtwin::vpn
