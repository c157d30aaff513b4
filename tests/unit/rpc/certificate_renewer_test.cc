// CertificateRenewer (src/rpc/certificate_renewer.h): what it does when a renewal fails. One
// that may pass later (the GCS away) is tried again; one refused for good (the node was declared
// dead) stops it, instead of asking every second until the process ends.
#include "src/rpc/certificate_renewer.h"

#include <unistd.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

#include "src/common/status.h"
#include "src/rpc/tls_certificates.h"
#include "src/rpc/tls_files.h"

namespace orrery::rpc {
namespace {

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

// A TLS directory whose certificate is due for renewal now: two thirds of its 30 s are past.
class CertificateRenewerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/orrery_renewer_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/tls";
    auto ca = CreateClusterCa();
    ASSERT_OK(ca);
    ca_ = *ca;
    auto key = MakeKeyAndCsr("node-x");
    ASSERT_OK(key);
    // Its start backdated by the 5 minutes of clock skew every certificate allows (RenewAt).
    auto cert = internal::IssueCertificateValidBetween(ca_, key->csr_pem, "node-x", Now() - 300 - 21, Now() + 9);
    ASSERT_OK(cert);
    held_ = *cert;
    ASSERT_OK(WriteTlsFiles(dir_, TlsMaterial{TlsConfig{ca_.cert_pem, *cert, key->key_pem}, ""}));
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // A renewal as the GCS would sign it.
  absl::StatusOr<TlsConfig> Renewed() const {
    ORRERY_ASSIGN_OR_RETURN(KeyAndCsr next, MakeKeyAndCsr("node-x"));
    ORRERY_ASSIGN_OR_RETURN(std::string cert, IssueCertificate(ca_, next.csr_pem, "node-x", 600));
    return TlsConfig{ca_.cert_pem, cert, next.key_pem};
  }

  std::string root_, dir_, held_;
  CertificateAuthority ca_;
};

TEST_F(CertificateRenewerTest, ARenewalRefusedForGoodIsNotAskedAgain) {
  std::atomic<int> attempts{0};
  CertificateRenewer renewer(dir_, "node x", [&](const TlsConfig& current, const CertificateInfo& held) {
    // What is held, read once by the renewer: the holder need not parse it again.
    EXPECT_EQ(current.cert_pem, held_);
    EXPECT_EQ(held.common_name, "node-x");
    ++attempts;
    return absl::StatusOr<TlsConfig>(absl::PermissionDeniedError("node x was declared dead: it gets no certificate"));
  });
  ASSERT_TRUE(renewer.AwaitGivenUp(absl::Seconds(30)));
  EXPECT_EQ(attempts.load(), 1);
  EXPECT_EQ(renewer.renewals(), 0);
}

TEST_F(CertificateRenewerTest, AFailureThatMayPassIsTriedAgainUntilItDoes) {
  std::atomic<int> attempts{0};
  CertificateRenewer renewer(dir_, "node x", [&](const TlsConfig&, const CertificateInfo&) -> absl::StatusOr<TlsConfig> {
    if (attempts++ < 2) return absl::UnavailableError("the GCS is restarting");
    return Renewed();
  });
  ASSERT_TRUE(renewer.AwaitRenewals(1, absl::Seconds(30)));
  EXPECT_EQ(attempts.load(), 3);
  EXPECT_FALSE(renewer.AwaitGivenUp(absl::ZeroDuration()));
  auto written = ReadTlsFiles(dir_);
  ASSERT_OK(written);
  EXPECT_NE(written->config.cert_pem, held_);
}

// A CA rotation asks a node to renew at once: a certificate far from due is renewed then, and
// the trust the renewal brings (here a bundle of two CAs) is what the directory trusts after.
TEST_F(CertificateRenewerTest, RenewNowRenewsACertificateNotYetDueAndKeepsTheTrustItBrings) {
  auto fresh = Renewed();
  ASSERT_OK(fresh);
  ASSERT_OK(WriteTlsFiles(dir_, TlsMaterial{*fresh, ""}));
  auto next_ca = CreateClusterCa();
  ASSERT_OK(next_ca);
  std::atomic<int> attempts{0};
  CertificateRenewer renewer(dir_, "node x", [&](const TlsConfig&, const CertificateInfo&) -> absl::StatusOr<TlsConfig> {
    ++attempts;
    ORRERY_ASSIGN_OR_RETURN(TlsConfig renewed, Renewed());
    renewed.ca_cert_pem += next_ca->cert_pem;
    return renewed;
  });
  EXPECT_FALSE(renewer.AwaitRenewals(1, absl::Seconds(1))) << "not due for minutes";
  renewer.RenewNow();
  ASSERT_TRUE(renewer.AwaitRenewals(1, absl::Seconds(30)));
  EXPECT_EQ(attempts.load(), 1);
  auto written = ReadTlsFiles(dir_);
  ASSERT_OK(written);
  EXPECT_NE(written->config.cert_pem, fresh->cert_pem);
  EXPECT_EQ(written->config.ca_cert_pem, ca_.cert_pem + next_ca->cert_pem);
}

}  // namespace
}  // namespace orrery::rpc
