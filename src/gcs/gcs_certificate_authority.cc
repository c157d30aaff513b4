#include "src/gcs/gcs_certificate_authority.h"

#include "absl/strings/str_cat.h"
#include "orrery/version.h"
#include "src/common/log.h"
#include "src/common/status.h"
#include "src/rpc/auth.h"

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

}  // namespace

GcsCertificateAuthority::GcsCertificateAuthority(Options options)
    : options_(std::move(options)), ca_(LoadCa(options_.tls_dir)) {}

std::unique_ptr<rpc::CertificateRenewer> GcsCertificateAuthority::RenewOwnCertificate() const {
  if (!ca_.ok()) return nullptr;
  auto renew = [ca = *ca_, seconds = options_.certificate_seconds](
                   const rpc::TlsConfig&, const rpc::CertificateInfo& held) -> absl::StatusOr<rpc::TlsConfig> {
    ORRERY_ASSIGN_OR_RETURN(rpc::KeyAndCsr key, rpc::MakeKeyAndCsr(held.common_name));
    ORRERY_ASSIGN_OR_RETURN(std::string cert, rpc::IssueCertificate(ca, key.csr_pem, held.common_name, seconds));
    return rpc::TlsConfig{ca.cert_pem, std::move(cert), std::move(key.key_pem)};
  };
  return std::make_unique<rpc::CertificateRenewer>(options_.tls_dir, "the GCS", std::move(renew));
}

void GcsCertificateAuthority::OnNodeDead(const NodeId& node) { rpc::RefuseCertificatesNamed(node.Hex()); }

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
  reply->set_ca_cert_pem(ca_->cert_pem);
  reply->set_version(ORRERY_VERSION_STRING);
  done(absl::OkStatus());
}

}  // namespace orrery::gcs
