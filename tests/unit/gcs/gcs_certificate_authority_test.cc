// The GCS's own certificate, in the head's TLS directory, is renewed by the GCS at two thirds of
// its life, signed with the CA it holds (docs/security.md, "Renewal").
#include "src/gcs/gcs_certificate_authority.h"

#include <stdlib.h>

#include <ctime>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

#include "src/common/file_util.h"
#include "src/rpc/cluster_tls.h"
#include "src/rpc/tls_certificates.h"

namespace orrery::gcs {
namespace {

TEST(GcsCertificateAuthorityTest, TheGcsRenewsItsOwnCertificateWithTheCaItHolds) {
  char tmpl[] = "/tmp/orrery_gcs_ca_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/tls";
  ASSERT_OK(rpc::PrepareHeadTlsDir(dir, /*validity_seconds=*/6));  // due in 4 s
  auto before = rpc::ReadTlsFiles(dir);
  ASSERT_OK(before);
  auto first = rpc::ReadCertificateInfo(before->config.cert_pem);
  ASSERT_OK(first);

  GcsCertificateAuthority authority(GcsCertificateAuthority::Options{dir, /*certificate_seconds=*/3600});
  std::unique_ptr<rpc::CertificateRenewer> renewer = authority.RenewOwnCertificate();
  ASSERT_NE(renewer, nullptr);
  ASSERT_TRUE(renewer->AwaitRenewals(1, absl::Seconds(30)));

  auto after = rpc::ReadTlsFiles(dir);
  ASSERT_OK(after);
  auto renewed = rpc::ReadCertificateInfo(after->config.cert_pem);
  ASSERT_OK(renewed);
  EXPECT_EQ(renewed->common_name, first->common_name);
  EXPECT_NE(renewed->serial_hex, first->serial_hex);
  EXPECT_NEAR(static_cast<double>(renewed->not_after - std::time(nullptr)), 3600.0, 10.0);
  EXPECT_NE(after->config.key_pem, before->config.key_pem) << "a new key each time";
  EXPECT_OK(rpc::VerifyCertificate(before->config.ca_cert_pem, after->config.cert_pem));
  EXPECT_EQ(after->config.ca_cert_pem, before->config.ca_cert_pem);
  EXPECT_EQ(after->ca_key_pem, before->ca_key_pem) << "the CA and its key stay";
  renewer.reset();
  EXPECT_OK(RemoveAll(tmpl));
}

TEST(GcsCertificateAuthorityTest, APlainClusterRenewsNothing) {
  GcsCertificateAuthority authority(GcsCertificateAuthority::Options{"", 3600});
  EXPECT_EQ(authority.RenewOwnCertificate(), nullptr);
}

}  // namespace
}  // namespace orrery::gcs
