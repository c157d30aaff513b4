#include "src/gcs/gcs_certificate_authority.h"

#include "absl/strings/str_cat.h"
#include "orrery/version.h"
#include "src/common/clock.h"
#include "src/common/log.h"
#include "src/common/status.h"
#include "src/gcs/node_trust.h"
#include "src/rpc/auth.h"
#include "src/rpc/cluster_tls.h"

namespace orrery::gcs {
namespace {

absl::StatusOr<rpc::CertificateAuthority> LoadCa(const std::string& tls_dir) {
  if (tls_dir.empty()) {
    return absl::FailedPreconditionError(
        "this cluster runs with --tls=off: it has no CA and signs no certificates (join without --ca-hash)");
  }
  auto material = rpc::ReadTlsFiles(tls_dir);
  if (!material.ok()) return material.status();
  if (material->ca_key_pem.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("the GCS's TLS directory ", tls_dir, " holds no ",
                                                      rpc::kCaKeyFile, ": this GCS cannot sign certificates"));
  }
  return rpc::CertificateAuthority{material->config.ca_cert_pem, material->ca_key_pem};
}

std::string FingerprintOrEmpty(const std::string& ca_cert_pem) {
  absl::StatusOr<std::string> fingerprint = rpc::CaFingerprint(ca_cert_pem);
  return fingerprint.ok() ? *fingerprint : "";
}

// The fingerprint of each CA of `bundle`, appended to `out`.
void AddFingerprints(const std::string& bundle, google::protobuf::RepeatedPtrField<std::string>* out) {
  for (const std::string& ca : rpc::SplitCertificates(bundle)) out->Add(FingerprintOrEmpty(ca));
}

// What a node holding the head's files of this phase reports.
rpc::NodeTrust TrustOf(const CaRotation& rotation) {
  rpc::NodeTrust trust;
  AddFingerprints(rotation.TrustBundle(), trust.mutable_trusted_cas());
  trust.set_issuer(FingerprintOrEmpty(rotation.Signer().cert_pem));
  return trust;
}

// A node reports at most once a second: checking the whole cluster on every report of a large
// one would be work for nothing.
constexpr int64_t kCheckEveryMs = 200;

}  // namespace

GcsCertificateAuthority::GcsCertificateAuthority(Options options)
    : options_(std::move(options)), ca_(LoadCa(options_.tls_dir)) {
  if (!ca_.ok()) return;
  absl::StatusOr<CaRotation> recorded = ReadCaRotation(options_.tls_dir);
  if (!recorded.ok()) {
    spdlog::error("the CA rotation recorded in {} cannot be read, so it stays where it was: {}", options_.tls_dir,
                  recorded.status().message());
    return;
  }
  if (recorded->phase == CaRotationPhase::kIdle) return;
  rotation_ = *std::move(recorded);
  spdlog::info("going on with the rotation of the cluster CA in phase {}", CaRotationPhaseName(rotation_.phase));
  if (absl::Status entered = Enter(rotation_.phase); !entered.ok()) {
    spdlog::error("cannot enter phase {} of the CA rotation again: {}", CaRotationPhaseName(rotation_.phase),
                  entered.message());
  }
}

std::unique_ptr<rpc::CertificateRenewer> GcsCertificateAuthority::RenewOwnCertificate() {
  if (!ca_.ok()) return nullptr;
  // The CA is read from the directory at each renewal: a rotation may have changed it.
  auto renew = [dir = options_.tls_dir, seconds = options_.certificate_seconds](
                   const rpc::TlsConfig&, const rpc::CertificateInfo& held) -> absl::StatusOr<rpc::TlsConfig> {
    ORRERY_ASSIGN_OR_RETURN(rpc::CertificateAuthority ca, LoadCa(dir));
    ORRERY_ASSIGN_OR_RETURN(rpc::KeyAndCsr key, rpc::MakeKeyAndCsr(held.common_name));
    ORRERY_ASSIGN_OR_RETURN(std::string cert, rpc::IssueCertificate(ca, key.csr_pem, held.common_name, seconds));
    return rpc::TlsConfig{ca.cert_pem, std::move(cert), std::move(key.key_pem)};
  };
  return std::make_unique<rpc::CertificateRenewer>(options_.tls_dir, "the GCS", std::move(renew), &dir_writes_);
}

void GcsCertificateAuthority::OnNodeDead(const NodeId& node) {
  rpc::RefuseCertificatesNamed(node.Hex());
  trust_.erase(node);
}

absl::Status GcsCertificateAuthority::CheckSigner(const NodeId& node, const std::string& peer_name) const {
  if (rpc::CertificateNameRefused(node.Hex())) {
    return absl::PermissionDeniedError(
        absl::StrCat("node ", node.Hex(), " was declared dead: it gets no certificate (start a new node instead)"));
  }
  // A node renews its own certificate only; a new node (no certificate yet) names a new id,
  // which it drew at random. A head certificate (drivers, the CLI on the head) may ask for any.
  if (!peer_name.empty() && peer_name != node.Hex() && NodeId::FromHex(peer_name).ok()) {
    return absl::PermissionDeniedError(absl::StrCat("node ", peer_name, " asked for a certificate naming node ",
                                                    node.Hex(), "; a node may renew only its own"));
  }
  return absl::OkStatus();
}

void GcsCertificateAuthority::HandleSignNodeCertificate(const rpc::SignNodeCertificateRequest& request,
                                                        const std::string& peer_name,
                                                        rpc::SignNodeCertificateReply* reply, ReplyCallback done) {
  if (!ca_.ok()) return done(ca_.status());
  auto node = NodeId::FromBinary(request.node_id());
  if (!node.ok()) return done(Annotate(node.status(), "SignNodeCertificate: node_id"));
  if (absl::Status allowed = CheckSigner(*node, peer_name); !allowed.ok()) return done(allowed);
  auto cert = rpc::IssueCertificate(*ca_, request.csr_pem(), node->Hex(), options_.certificate_seconds);
  if (!cert.ok()) return done(Annotate(cert.status(), "SignNodeCertificate"));
  spdlog::info("signed a certificate for node {} ({}), valid {} s", node->Hex(),
               peer_name.empty() ? "joining" : "renewing", options_.certificate_seconds);
  reply->set_cert_pem(std::move(*cert));
  reply->set_ca_cert_pem(ca_->cert_pem);  // the trust bundle: two CAs during a rotation
  reply->set_version(ORRERY_VERSION_STRING);
  done(absl::OkStatus());
}

void GcsCertificateAuthority::HandleRotateCa(const rpc::RotateCaRequest&, const std::string& peer_name,
                                             rpc::RotateCaReply* reply, ReplyCallback done) {
  if (!ca_.ok()) return done(ca_.status());
  if (peer_name != rpc::kHeadCertificateName) {
    return done(absl::PermissionDeniedError(absl::StrCat(
        "only the head may rotate the cluster CA: run `orrery cert rotate-ca` on the head's host (this caller's "
        "certificate names ",
        peer_name.empty() ? "nobody" : "\"" + peer_name + "\"", ")")));
  }
  if (rotation_.phase == CaRotationPhase::kIdle) {
    absl::MutexLock lock(&dir_writes_);
    absl::StatusOr<CaRotation> begun = BeginCaRotation(options_.tls_dir, options_.certificate_seconds);
    if (!begun.ok()) return done(Annotate(begun.status(), "starting a rotation of the cluster CA"));
    rotation_ = *std::move(begun);
    if (absl::Status adopted = AdoptPhaseLocked(); !adopted.ok()) return done(adopted);
    spdlog::info("rotating the cluster CA: {} replaces {}", FingerprintOrEmpty(rotation_.new_ca.cert_pem),
                 FingerprintOrEmpty(rotation_.old_ca.cert_pem));
  }
  *reply->mutable_status() = Status();
  done(absl::OkStatus());
}

void GcsCertificateAuthority::HandleGetCaRotation(const rpc::GetCaRotationRequest&, rpc::GetCaRotationReply* reply,
                                                  ReplyCallback done) {
  if (!ca_.ok()) return done(ca_.status());
  AdvanceWhenSettled();
  *reply->mutable_status() = Status();
  done(absl::OkStatus());
}

void GcsCertificateAuthority::OnNodeReport(const NodeId& node, const rpc::NodeTrust& trust,
                                           rpc::ReportResourceUsageReply* reply) {
  if (trust.trusted_cas_size() > 0) trust_[node] = trust;
  if (rotation_.phase == CaRotationPhase::kIdle) return;
  *reply->mutable_wanted_trust() = wanted_;
  AdvanceWhenSettled();
}

absl::Status GcsCertificateAuthority::Enter(CaRotationPhase phase) {
  absl::MutexLock lock(&dir_writes_);
  ORRERY_RETURN_IF_ERROR(EnterCaRotationPhase(options_.tls_dir, rotation_, phase, options_.certificate_seconds));
  return AdoptPhaseLocked();
}

absl::Status GcsCertificateAuthority::AdoptPhaseLocked() {
  ca_ = LoadCa(options_.tls_dir);
  ORRERY_RETURN_IF_ERROR(ca_.status());
  wanted_ = TrustOf(rotation_);
  phase_started_ms_ = NowMs();
  settled_since_ms_ = 0;
  return absl::OkStatus();
}

std::vector<NodeId> GcsCertificateAuthority::PendingNodes() const {
  std::vector<NodeId> pending;
  if (!options_.alive_nodes) return pending;
  for (const NodeId& node : options_.alive_nodes()) {
    auto it = trust_.find(node);
    if (it == trust_.end() || !SameTrust(it->second, wanted_)) pending.push_back(node);
  }
  return pending;
}

void GcsCertificateAuthority::AdvanceWhenSettled() {
  if (rotation_.phase == CaRotationPhase::kIdle) return;
  int64_t now = MonotonicMs();
  if (now - last_check_ms_ < kCheckEveryMs) return;
  last_check_ms_ = now;
  if (!PendingNodes().empty()) {
    settled_since_ms_ = 0;
    return;
  }
  if (settled_since_ms_ == 0) settled_since_ms_ = now;
  if (now - settled_since_ms_ < kSettleMs) return;
  CaRotationPhase from = rotation_.phase;
  CaRotationPhase next = NextCaRotationPhase(from);
  std::string new_ca = FingerprintOrEmpty(rotation_.new_ca.cert_pem);
  if (next == CaRotationPhase::kIdle) {
    absl::MutexLock lock(&dir_writes_);
    if (absl::Status ended = EnterCaRotationPhase(options_.tls_dir, rotation_, next, options_.certificate_seconds);
        !ended.ok()) {
      spdlog::error("ending the CA rotation: {}", ended.message());
      return;
    }
    spdlog::info("the rotation of the cluster CA is complete: every node trusts {} only", new_ca);
    return;
  }
  if (absl::Status entered = Enter(next); !entered.ok()) {
    spdlog::error("cannot enter phase {} of the CA rotation (tried again shortly): {}", CaRotationPhaseName(next),
                  entered.message());
    return;
  }
  spdlog::info("CA rotation: every node has reached phase {}; now phase {}", CaRotationPhaseName(from),
               CaRotationPhaseName(next));
}

rpc::CaRotationStatus GcsCertificateAuthority::Status() const {
  rpc::CaRotationStatus status;
  status.set_phase(CaRotationPhaseName(rotation_.phase));
  if (ca_.ok()) {
    AddFingerprints(ca_->cert_pem, status.mutable_trusted_cas());
    status.set_signing_ca(FingerprintOrEmpty(ca_->cert_pem));
  }
  if (rotation_.phase == CaRotationPhase::kIdle) return status;
  status.set_old_ca(FingerprintOrEmpty(rotation_.old_ca.cert_pem));
  status.set_new_ca(FingerprintOrEmpty(rotation_.new_ca.cert_pem));
  status.set_phase_started_ms(phase_started_ms_);
  for (const NodeId& node : PendingNodes()) {
    status.add_pending_nodes(node.Binary());
    auto it = trust_.find(node);
    *status.add_pending_trust() = it != trust_.end() ? it->second : rpc::NodeTrust();
  }
  return status;
}

}  // namespace orrery::gcs
