// The GCS's own certificate, in the head's TLS directory, is renewed by the GCS at two thirds of
// its life, signed with the CA it holds (docs/security.md, "Renewal"); a rotation of the CA
// moves the head and every node through its phases (docs/security.md, "Rotating the CA").
#include "src/gcs/gcs_certificate_authority.h"

#include <stdlib.h>

#include <ctime>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

#include "src/common/file_util.h"
#include "src/common/status.h"
#include "src/gcs/node_trust.h"
#include "src/rpc/cluster_tls.h"
#include "src/rpc/tls_certificates.h"

namespace orrery::gcs {
namespace {

using ::orrery::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

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

TEST(GcsCertificateAuthorityTest, APlainClusterRenewsNothingAndRotatesNothing) {
  GcsCertificateAuthority authority(GcsCertificateAuthority::Options{"", 3600});
  EXPECT_EQ(authority.RenewOwnCertificate(), nullptr);
  absl::Status status;
  rpc::RotateCaReply reply;
  authority.HandleRotateCa({}, "head", &reply, [&](absl::Status s) { status = s; });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("--tls=off")));
}

// A node of the cluster as the CA sees it: the identity it holds, which it renews through the
// authority whenever the reply to its report asks for another trust.
class NodeOfTheCa {
 public:
  explicit NodeOfTheCa(GcsCertificateAuthority& authority) : authority_(&authority) {
    identity_ = Sign("");  // joining: no certificate yet
  }

  // One report; renews when the reply asks. Returns the status of the renewal, if one was made.
  absl::Status Report() {
    rpc::ReportResourceUsageReply reply;
    rpc::NodeTrust trust = Trust();
    authority_->OnNodeReport(id_, trust, &reply);
    if (!reply.has_wanted_trust() || SameTrust(trust, reply.wanted_trust())) return absl::OkStatus();
    absl::StatusOr<rpc::TlsConfig> renewed = Sign(id_.Hex());
    if (!renewed.ok()) return renewed.status();
    identity_ = std::move(renewed);
    return absl::OkStatus();
  }

  rpc::NodeTrust Trust() const {
    if (!identity_.ok()) return rpc::NodeTrust();
    auto state = rpc::DescribeTrust(*identity_);
    return state.ok() ? ToNodeTrust(*state) : rpc::NodeTrust();
  }

  const NodeId& id() const { return id_; }
  const absl::StatusOr<rpc::TlsConfig>& identity() const { return identity_; }
  void MovedTo(GcsCertificateAuthority& authority) { authority_ = &authority; }

 private:
  absl::StatusOr<rpc::TlsConfig> Sign(const std::string& peer_name) {
    ORRERY_ASSIGN_OR_RETURN(rpc::KeyAndCsr key, rpc::MakeKeyAndCsr(id_.Hex()));
    rpc::SignNodeCertificateRequest request;
    request.set_csr_pem(key.csr_pem);
    request.set_node_id(id_.Binary());
    rpc::SignNodeCertificateReply reply;
    absl::Status status;
    authority_->HandleSignNodeCertificate(request, peer_name, &reply, [&](absl::Status s) { status = s; });
    ORRERY_RETURN_IF_ERROR(status);
    return rpc::TlsConfig{reply.ca_cert_pem(), reply.cert_pem(), key.key_pem};
  }

  GcsCertificateAuthority* authority_;
  const NodeId id_ = NodeId::FromRandom();
  absl::StatusOr<rpc::TlsConfig> identity_;
};

rpc::CaRotationStatus RotationOf(GcsCertificateAuthority& authority) {
  rpc::GetCaRotationReply reply;
  authority.HandleGetCaRotation({}, &reply, [](absl::Status status) { EXPECT_OK(status); });
  return reply.status();
}

// The head's trust bundle now, as fingerprints, the signing CA first.
std::vector<std::string> HeadTrust(const std::string& dir) {
  std::vector<std::string> trusted;
  auto files = rpc::ReadTlsFiles(dir);
  if (!files.ok()) return trusted;
  for (const std::string& ca : rpc::SplitCertificates(files->config.ca_cert_pem)) trusted.push_back(*rpc::CaFingerprint(ca));
  return trusted;
}

// The phases of a rotation end one after another as the node renews into each, with the head's
// files following; a GCS that restarts mid-way goes on in the phase it was in; at the end the
// node and the head trust the new CA only, and the node's certificate is of it.
TEST(GcsCertificateAuthorityTest, ARotationMovesThroughItsPhasesAsTheNodeFollowsAndARestartGoesOn) {
  char tmpl[] = "/tmp/orrery_gcs_rotation_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/tls";
  ASSERT_OK(rpc::PrepareHeadTlsDir(dir));
  const std::string old_ca = HeadTrust(dir).at(0);
  std::vector<NodeId> alive;
  GcsCertificateAuthority::Options options{dir, 3600, [&alive] { return alive; }};
  auto authority = std::make_unique<GcsCertificateAuthority>(options);
  NodeOfTheCa node(*authority);
  ASSERT_OK(node.identity());
  alive.push_back(node.id());

  absl::Status status;
  rpc::RotateCaReply started;
  authority->HandleRotateCa({}, node.id().Hex(), &started, [&](absl::Status s) { status = s; });
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("only the head may rotate")));
  authority->HandleRotateCa({}, "head", &started, [&](absl::Status s) { status = s; });
  ASSERT_OK(status);
  EXPECT_EQ(started.status().phase(), "trust-new");
  EXPECT_EQ(started.status().old_ca(), old_ca);
  const std::string new_ca = started.status().new_ca();
  EXPECT_NE(new_ca, old_ca);
  EXPECT_THAT(started.status().pending_nodes(), ElementsAre(node.id().Binary()));

  // Each phase as the node's reports see it, with the head's trust bundle then.
  std::vector<std::string> phases;
  std::vector<std::vector<std::string>> head_trust;
  auto deadline = absl::Now() + absl::Seconds(90);
  bool restarted = false;
  while (absl::Now() < deadline) {
    ASSERT_OK(node.Report());
    std::string phase = RotationOf(*authority).phase();
    if (phases.empty() || phases.back() != phase) {
      phases.push_back(phase);
      head_trust.push_back(HeadTrust(dir));
    }
    if (phase == "idle") break;
    if (phase == "sign-new" && !restarted) {
      authority = std::make_unique<GcsCertificateAuthority>(options);  // the GCS restarts
      node.MovedTo(*authority);
      restarted = true;
      EXPECT_EQ(RotationOf(*authority).phase(), "sign-new") << "the restarted GCS goes on where it was";
    }
    absl::SleepFor(absl::Milliseconds(100));  // the node's report period, shortened
  }
  EXPECT_THAT(phases, ElementsAre("trust-new", "sign-new", "drop-old", "idle"));
  EXPECT_THAT(head_trust, ElementsAre(ElementsAre(old_ca, new_ca), ElementsAre(new_ca, old_ca), ElementsAre(new_ca),
                                      ElementsAre(new_ca)));
  rpc::NodeTrust trust = node.Trust();
  EXPECT_THAT(trust.trusted_cas(), ElementsAre(new_ca));
  EXPECT_EQ(trust.issuer(), new_ca);
  // The head's own certificate and the CA's key are the new CA's.
  auto files = rpc::ReadTlsFiles(dir);
  ASSERT_OK(files);
  EXPECT_EQ(*rpc::CaFingerprint(files->config.ca_cert_pem), new_ca);
  EXPECT_OK(rpc::VerifyCertificate(files->config.ca_cert_pem, files->config.cert_pem));
  EXPECT_FALSE(PathExists(dir + "/ca-rotation")) << "the old CA's key is gone with the record";
  rpc::CaRotationStatus after = RotationOf(*authority);
  EXPECT_EQ(after.signing_ca(), new_ca);
  EXPECT_THAT(after.trusted_cas(), ElementsAre(new_ca));
  authority.reset();
  EXPECT_OK(RemoveAll(tmpl));
}

}  // namespace
}  // namespace orrery::gcs
