// The cluster CA, CSRs, issued certificates and the TLS files (src/rpc/tls_certificates.h).
#include "src/rpc/tls_certificates.h"

#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

#include "src/common/file_util.h"
#include "src/rpc/cluster_tls.h"

namespace orrery::rpc {
namespace {

using ::orrery::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr int64_t kDay = 24 * 3600;

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

// One CA for the suite: key generation is cheap, but there is no need to repeat it per test.
class TlsCertificatesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ca = CreateClusterCa();
    ASSERT_OK(ca);
    ca_ = new CertificateAuthority(*ca);
  }
  static void TearDownTestSuite() {
    delete ca_;
    ca_ = nullptr;
  }

  static std::string Issue(const std::string& node_name, int64_t validity = 30 * kDay) {
    auto csr = MakeKeyAndCsr(node_name);
    EXPECT_OK(csr);
    auto cert = IssueCertificate(*ca_, csr->csr_pem, node_name, validity);
    EXPECT_OK(cert);
    return cert.ok() ? *cert : "";
  }

  static CertificateAuthority* ca_;
};

CertificateAuthority* TlsCertificatesTest::ca_ = nullptr;

TEST_F(TlsCertificatesTest, TheCaIsSelfSignedNamedAndValidForTenYears) {
  auto info = ReadCertificateInfo(ca_->cert_pem);
  ASSERT_OK(info);
  EXPECT_THAT(info->common_name, MatchesRegex("Orrery cluster CA [0-9a-f]{8}"));
  EXPECT_NEAR(info->not_after - Now(), 3653 * kDay, 60);
  EXPECT_THAT(info->serial_hex, MatchesRegex("[0-9a-f]+"));
  EXPECT_OK(VerifyCertificate(ca_->cert_pem, ca_->cert_pem)) << "a root verifies against itself";
  EXPECT_THAT(ca_->key_pem, HasSubstr("BEGIN PRIVATE KEY"));
}

TEST_F(TlsCertificatesTest, RoundTripFromCaThroughCsrToAVerifiedCertificate) {
  auto csr = MakeKeyAndCsr("node-1");
  ASSERT_OK(csr);
  EXPECT_THAT(csr->csr_pem, HasSubstr("BEGIN CERTIFICATE REQUEST"));
  auto cert = IssueCertificate(*ca_, csr->csr_pem, "node-1", 30 * kDay);
  ASSERT_OK(cert);
  EXPECT_OK(VerifyCertificate(ca_->cert_pem, *cert));
  auto info = ReadCertificateInfo(*cert);
  ASSERT_OK(info);
  EXPECT_EQ(info->common_name, "node-1");
  EXPECT_NEAR(info->not_after - Now(), 30 * kDay, 60);
  EXPECT_NEAR(Now() - info->not_before, 5 * 60, 60) << "backdated for peers whose clocks lag";
}

TEST_F(TlsCertificatesTest, SerialsAreRandomAndDistinct) {
  auto a = ReadCertificateInfo(Issue("node-1"));
  auto b = ReadCertificateInfo(Issue("node-1"));
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_NE(a->serial_hex, b->serial_hex);
  EXPECT_GE(a->serial_hex.size(), 24u) << "about 128 random bits";
}

TEST_F(TlsCertificatesTest, TheSignerDecidesTheNameNotTheCsr) {
  auto csr = MakeKeyAndCsr("cluster-admin");
  ASSERT_OK(csr);
  auto cert = IssueCertificate(*ca_, csr->csr_pem, "node-7", kDay);
  ASSERT_OK(cert);
  auto info = ReadCertificateInfo(*cert);
  ASSERT_OK(info);
  EXPECT_EQ(info->common_name, "node-7");
}

TEST_F(TlsCertificatesTest, ACertificateFromAnotherCaFailsVerification) {
  auto other = CreateClusterCa();
  ASSERT_OK(other);
  auto csr = MakeKeyAndCsr("node-1");
  ASSERT_OK(csr);
  auto foreign = IssueCertificate(*other, csr->csr_pem, "node-1", kDay);
  ASSERT_OK(foreign);
  EXPECT_THAT(VerifyCertificate(ca_->cert_pem, *foreign),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("not issued by this cluster's CA")));
  EXPECT_THAT(VerifyCertificate(ca_->cert_pem, other->cert_pem), StatusIs(absl::StatusCode::kUnauthenticated));
}

// Replaces the requested name inside the signed part of the CSR, leaving its signature as it was.
std::string TamperWithCsr(const std::string& csr_pem, const std::string& from, const std::string& to) {
  std::vector<std::string> lines = absl::StrSplit(csr_pem, '\n', absl::SkipEmpty());
  std::string base64;
  for (size_t i = 1; i + 1 < lines.size(); ++i) base64 += lines[i];
  std::string der;
  EXPECT_TRUE(absl::Base64Unescape(base64, &der));
  EXPECT_NE(der.find(from), std::string::npos);
  absl::StrReplaceAll({{from, to}}, &der);
  return "-----BEGIN CERTIFICATE REQUEST-----\n" + absl::Base64Escape(der) + "\n-----END CERTIFICATE REQUEST-----\n";
}

// A trust bundle (two CAs while the CA rotates): a certificate of either verifies, one of a
// third CA does not; DescribeTrust names both CAs, in order, and the one that issued.
TEST_F(TlsCertificatesTest, ABundleTrustsEachOfItsCasAndNamesTheIssuer) {
  auto other = CreateClusterCa();
  ASSERT_OK(other);
  auto stranger = CreateClusterCa();
  ASSERT_OK(stranger);
  EXPECT_NE(ReadCertificateInfo(other->cert_pem)->common_name, ReadCertificateInfo(ca_->cert_pem)->common_name)
      << "two CAs of a rotation are told apart by name";
  std::string bundle = ca_->cert_pem + other->cert_pem;
  EXPECT_EQ(SplitCertificates(bundle), (std::vector<std::string>{ca_->cert_pem, other->cert_pem}));
  EXPECT_THAT(SplitCertificates("no PEM here"), ::testing::IsEmpty());

  auto csr = MakeKeyAndCsr("node-2");
  ASSERT_OK(csr);
  auto of_other = IssueCertificate(*other, csr->csr_pem, "node-2", kDay);
  auto of_stranger = IssueCertificate(*stranger, csr->csr_pem, "node-2", kDay);
  ASSERT_OK(of_other);
  ASSERT_OK(of_stranger);
  std::string of_ca = Issue("node-2");
  EXPECT_OK(VerifyCertificate(bundle, of_ca));
  EXPECT_OK(VerifyCertificate(bundle, *of_other));
  EXPECT_THAT(VerifyCertificate(bundle, *of_stranger), StatusIs(absl::StatusCode::kUnauthenticated));
  // The signer is the bundle's first certificate.
  auto by_bundle = IssueCertificate(CertificateAuthority{other->cert_pem + ca_->cert_pem, other->key_pem},
                                    csr->csr_pem, "node-2", kDay);
  ASSERT_OK(by_bundle);
  EXPECT_OK(VerifyCertificate(other->cert_pem, *by_bundle));

  auto trust = DescribeTrust(TlsConfig{bundle, *of_other, csr->key_pem});
  ASSERT_OK(trust);
  EXPECT_EQ(trust->trusted_cas, (std::vector<std::string>{*CaFingerprint(ca_->cert_pem), *CaFingerprint(other->cert_pem)}));
  EXPECT_EQ(trust->issuer, *CaFingerprint(other->cert_pem));
  auto foreign = DescribeTrust(TlsConfig{bundle, *of_stranger, csr->key_pem});
  ASSERT_OK(foreign);
  EXPECT_EQ(foreign->issuer, "") << "issued by none of the trusted CAs";
  EXPECT_THAT(DescribeTrust(TlsConfig{"", of_ca, ""}), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TlsCertificatesTest, ATamperedCsrIsRefused) {
  auto csr = MakeKeyAndCsr("node-a");
  ASSERT_OK(csr);
  std::string tampered = TamperWithCsr(csr->csr_pem, "node-a", "node-b");
  EXPECT_THAT(IssueCertificate(*ca_, tampered, "node-b", kDay),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("signature does not verify")));
  EXPECT_OK(IssueCertificate(*ca_, TamperWithCsr(tampered, "node-b", "node-a"), "node-a", kDay))
      << "the tampering alone broke it";
}

TEST_F(TlsCertificatesTest, GarbageGivesInvalidArgumentNamingWhatWasExpected) {
  for (std::string garbage : {std::string(""), std::string("garbage"), std::string(100'000, 'A'),
                              std::string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")}) {
    SCOPED_TRACE(garbage.substr(0, 40));
    EXPECT_THAT(CaFingerprint(garbage), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("certificate")));
    EXPECT_THAT(ReadCertificateInfo(garbage), StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(VerifyCertificate(ca_->cert_pem, garbage), StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(VerifyCertificate(garbage, ca_->cert_pem),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("CA certificate")));
    EXPECT_THAT(IssueCertificate(*ca_, garbage, "node-1", kDay),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("certificate signing request")));
  }
  auto csr = MakeKeyAndCsr("node-1");
  ASSERT_OK(csr);
  EXPECT_THAT(ReadCertificateInfo(csr->csr_pem), StatusIs(absl::StatusCode::kInvalidArgument))
      << "a CSR is not a certificate";
  EXPECT_THAT(IssueCertificate({ca_->cert_pem, "not a key"}, csr->csr_pem, "node-1", kDay),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("CA key")));
  auto other = CreateClusterCa();
  ASSERT_OK(other);
  EXPECT_THAT(IssueCertificate({ca_->cert_pem, other->key_pem}, csr->csr_pem, "node-1", kDay),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not belong")));
}

TEST_F(TlsCertificatesTest, NodeNamesAndValiditiesAreChecked) {
  auto csr = MakeKeyAndCsr("node-1");
  ASSERT_OK(csr);
  for (const char* name : {"", "a,DNS:evil.example", "node 1", "-node", "node/1"}) {
    EXPECT_THAT(IssueCertificate(*ca_, csr->csr_pem, name, kDay),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a DNS name")))
        << name;
  }
  EXPECT_THAT(IssueCertificate(*ca_, csr->csr_pem, std::string(65, 'a'), kDay),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(IssueCertificate(*ca_, csr->csr_pem, "node-1", 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("positive")));
}

TEST_F(TlsCertificatesTest, FingerprintsAreStableWellFormedAndDifferBetweenCas) {
  auto first = CaFingerprint(ca_->cert_pem);
  ASSERT_OK(first);
  EXPECT_THAT(*first, MatchesRegex("sha256:[0-9a-f]{64}"));
  EXPECT_EQ(CaFingerprint(ca_->cert_pem).value(), *first);
  auto other = CreateClusterCa();
  ASSERT_OK(other);
  auto second = CaFingerprint(other->cert_pem);
  ASSERT_OK(second);
  EXPECT_NE(*first, *second);

  EXPECT_OK(MatchCaFingerprint(ca_->cert_pem, *first));
  EXPECT_THAT(MatchCaFingerprint(ca_->cert_pem, *second),
              StatusIs(absl::StatusCode::kUnauthenticated, AllOf(HasSubstr(*first), HasSubstr(*second))));
}

TEST_F(TlsCertificatesTest, FingerprintTextIsParsedOrRefusedNamingTheForm) {
  std::string hex(64, 'a');
  EXPECT_EQ(ParseCaFingerprint("sha256:" + hex).value(), "sha256:" + hex);
  EXPECT_EQ(ParseCaFingerprint("sha256:" + std::string(64, 'A')).value(), "sha256:" + hex) << "lowercased";
  for (std::string bad : {"sha1:" + hex, hex, "sha256:" + hex.substr(1), "sha256:" + hex + "0",
                          "sha256:" + hex.substr(1) + "g", std::string("")}) {
    EXPECT_THAT(ParseCaFingerprint(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sha256:<64 hex digits>")))
        << bad;
  }
  EXPECT_THAT(MatchCaFingerprint(ca_->cert_pem, "sha256:xyz"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TlsCertificatesTest, ACertificatePastItsEndIsReportedExpired) {
  auto csr = MakeKeyAndCsr("node-1");
  ASSERT_OK(csr);
  auto expired = internal::IssueCertificateValidBetween(*ca_, csr->csr_pem, "node-1", Now() - 3600, Now() - 1);
  ASSERT_OK(expired);
  EXPECT_THAT(VerifyCertificate(ca_->cert_pem, *expired),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("expired")));
  auto future = internal::IssueCertificateValidBetween(*ca_, csr->csr_pem, "node-1", Now() + 3600, Now() + 7200);
  ASSERT_OK(future);
  EXPECT_THAT(VerifyCertificate(ca_->cert_pem, *future),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("not valid before")));
}

TEST_F(TlsCertificatesTest, RenewalIsDueTwoThirdsIntoTheLifeTheCertificateWasIssuedFor) {
  auto csr = MakeKeyAndCsr("node-1");
  ASSERT_OK(csr);
  // Issued now for 30 s: due in 20 s, not at once (its start is backdated for clock skew).
  auto cert = IssueCertificate(*ca_, csr->csr_pem, "node-1", 30);
  ASSERT_OK(cert);
  auto info = ReadCertificateInfo(*cert);
  ASSERT_OK(info);
  EXPECT_NEAR(static_cast<double>(RenewAt(*info)), static_cast<double>(Now() + 20), 2.0);
  // Thirty days: due on day twenty.
  auto month = IssueCertificate(*ca_, csr->csr_pem, "node-1", 30LL * 24 * 3600);
  ASSERT_OK(month);
  info = ReadCertificateInfo(*month);
  ASSERT_OK(info);
  EXPECT_NEAR(static_cast<double>(RenewAt(*info)), static_cast<double>(Now() + 20LL * 24 * 3600), 2.0);
}

class TlsFilesTest : public TlsCertificatesTest {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/orrery_tls_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/session/tls";  // missing, as on a first start
  }
  void TearDown() override { EXPECT_OK(RemoveAll(root_)); }

  static mode_t Mode(const std::string& path) {
    struct stat st;
    EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  TlsMaterial Material(bool with_ca_key) {
    auto csr = MakeKeyAndCsr("node-1");
    EXPECT_OK(csr);
    TlsMaterial material;
    material.config = {ca_->cert_pem, IssueCertificate(*ca_, csr->csr_pem, "node-1", kDay).value(), csr->key_pem};
    if (with_ca_key) material.ca_key_pem = ca_->key_pem;
    return material;
  }

  std::string root_;
  std::string dir_;
};

TEST_F(TlsFilesTest, WritesAPrivateDirectoryWith0600KeysAndReadsThemBack) {
  ::umask(022);
  TlsMaterial material = Material(/*with_ca_key=*/true);
  ASSERT_OK(WriteTlsFiles(dir_, material));
  EXPECT_EQ(Mode(dir_), 0700u);
  EXPECT_EQ(Mode(dir_ + "/node.key"), 0600u);
  EXPECT_EQ(Mode(dir_ + "/ca.key"), 0600u);
  EXPECT_EQ(Mode(dir_ + "/node.crt"), 0644u);
  EXPECT_EQ(Mode(dir_ + "/ca.crt"), 0644u);
  auto read = ReadTlsFiles(dir_);
  ASSERT_OK(read);
  EXPECT_EQ(read->config.ca_cert_pem, material.config.ca_cert_pem);
  EXPECT_EQ(read->config.cert_pem, material.config.cert_pem);
  EXPECT_EQ(read->config.key_pem, material.config.key_pem);
  EXPECT_EQ(read->ca_key_pem, material.ca_key_pem);
}

TEST_F(TlsFilesTest, ANodeWithoutTheCaKeyReadsNone) {
  ASSERT_OK(WriteTlsFiles(dir_, Material(/*with_ca_key=*/false)));
  EXPECT_FALSE(PathExists(dir_ + "/ca.key"));
  auto read = ReadTlsFiles(dir_);
  ASSERT_OK(read);
  EXPECT_TRUE(read->ca_key_pem.empty());
}

TEST_F(TlsFilesTest, AKeyOthersMayReadIsRefusedNamingTheFix) {
  ASSERT_OK(WriteTlsFiles(dir_, Material(/*with_ca_key=*/true)));
  ASSERT_EQ(chmod((dir_ + "/identity.pem").c_str(), 0644), 0);
  EXPECT_THAT(ReadTlsFiles(dir_), StatusIs(absl::StatusCode::kPermissionDenied,
                                           AllOf(HasSubstr(dir_ + "/identity.pem"), HasSubstr("chmod 600"))));
  ASSERT_EQ(chmod((dir_ + "/identity.pem").c_str(), 0600), 0);
  ASSERT_EQ(chmod((dir_ + "/ca.key").c_str(), 0640), 0);
  EXPECT_THAT(ReadTlsFiles(dir_), StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr(dir_ + "/ca.key")));
}

// The identity file is what a reader takes the certificate and key from, both in one read: a
// renewal replaces it by one rename, node.crt and node.key by two.
TEST_F(TlsFilesTest, TheCertificateAndKeyAreReadFromTheIdentityFileWrittenInOneGo) {
  TlsMaterial material = Material(/*with_ca_key=*/false);
  ASSERT_OK(WriteTlsFiles(dir_, material));
  EXPECT_EQ(Mode(dir_ + "/identity.pem"), 0600u);
  auto identity = ReadFileToString(dir_ + "/identity.pem");
  ASSERT_OK(identity);
  EXPECT_EQ(*identity, material.config.cert_pem + material.config.ca_cert_pem + material.config.key_pem)
      << "the chain (certificate, then CA) and the key";
  // A half-done renewal of the two separate files is not what a reader sees.
  TlsMaterial next = Material(/*with_ca_key=*/false);
  ASSERT_OK(WriteFileAtomic(dir_ + "/node.crt", next.config.cert_pem, 0644));
  auto read = ReadTlsFiles(dir_);
  ASSERT_OK(read);
  EXPECT_EQ(read->config.cert_pem, material.config.cert_pem);
  EXPECT_EQ(read->config.key_pem, material.config.key_pem);
  EXPECT_EQ(read->config.dir, dir_);
  // A directory of an older Orrery, without it, is read from the two files.
  ASSERT_EQ(unlink((dir_ + "/identity.pem").c_str()), 0);
  read = ReadTlsFiles(dir_);
  ASSERT_OK(read);
  EXPECT_EQ(read->config.cert_pem, next.config.cert_pem);
}

TEST_F(TlsFilesTest, ReloadedTlsIsTheSameSetUntilARenewalIsWrittenThenTheRenewedOne) {
  ASSERT_OK(WriteTlsFiles(dir_, Material(/*with_ca_key=*/false)));
  auto read = ReadTlsFiles(dir_);
  ASSERT_OK(read);
  auto tls = std::make_shared<const TlsConfig>(read->config);
  std::shared_ptr<const TlsConfig> now = ReloadedTls(tls);
  ASSERT_NE(now, nullptr);
  EXPECT_EQ(now->cert_pem, tls->cert_pem);
  EXPECT_EQ(ReloadedTls(tls), now) << "nothing changed: the same object";
  TlsMaterial renewed = Material(/*with_ca_key=*/false);
  ASSERT_OK(WriteTlsFiles(dir_, renewed));
  std::shared_ptr<const TlsConfig> after = ReloadedTls(tls);
  EXPECT_EQ(after->cert_pem, renewed.config.cert_pem);
  EXPECT_EQ(after->key_pem, renewed.config.key_pem);
  // A set that lives in memory only is its own.
  auto in_memory = std::make_shared<const TlsConfig>(renewed.config);
  EXPECT_EQ(ReloadedTls(in_memory), in_memory);
}

// A process takes a directory's identity only whole: a certificate of the CA, and its own key.
TEST_F(TlsFilesTest, UseTlsDirRefusesAKeyOfAnotherCertificate) {
  TlsMaterial material = Material(/*with_ca_key=*/false);
  material.config.key_pem = Material(/*with_ca_key=*/false).config.key_pem;
  ASSERT_OK(WriteTlsFiles(dir_, material));
  EXPECT_THAT(UseTlsDir(dir_), StatusIs(absl::StatusCode::kInvalidArgument,
                                        AllOf(HasSubstr("key and certificate in " + dir_), HasSubstr("does not match"))));
}

TEST_F(TlsFilesTest, MissingFilesAndIncompleteMaterialAreErrors) {
  EXPECT_THAT(ReadTlsFiles(dir_), StatusIs(absl::StatusCode::kNotFound, HasSubstr("ca.crt")));
  TlsMaterial incomplete = Material(/*with_ca_key=*/false);
  incomplete.config.key_pem.clear();
  EXPECT_THAT(WriteTlsFiles(dir_, incomplete), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace orrery::rpc
