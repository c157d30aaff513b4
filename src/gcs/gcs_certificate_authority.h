// GcsCertificateAuthority: the cluster CA at work on the head (docs/security.md, "Joining").
// It signs the CSR of a node joining a TLS cluster, or renewing, into a certificate that names
// the node, and from a node's death on it has every TLS port of the GCS refuse that node's
// certificates, which stay valid on paper until they expire.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "src/common/id.h"
#include "src/gcs/gcs_handler.h"
#include "src/rpc/certificate_renewer.h"
#include "src/rpc/tls_certificates.h"

namespace orrery::gcs {

// Handlers are called on the GCS loop.
class GcsCertificateAuthority final : public CertificateHandler {
 public:
  struct Options {
    std::string tls_dir;  // the head's TLS directory, with ca.key; empty: the cluster is plain TCP
    int64_t certificate_seconds = 0;
  };
  explicit GcsCertificateAuthority(Options options);

  void HandleSignNodeCertificate(const rpc::SignNodeCertificateRequest& request, const std::string& peer_name,
                                 rpc::SignNodeCertificateReply* reply, ReplyCallback done) override;

  // From now on the node's certificates are refused, and none is signed for it.
  static void OnNodeDead(const NodeId& node);

  // Renews the GCS's own certificate in the head's TLS directory at two thirds of its life
  // (signed here, valid certificate_seconds), for as long as the result lives. Null when this
  // GCS cannot sign (plain TCP).
  std::unique_ptr<rpc::CertificateRenewer> RenewOwnCertificate() const;

 private:
  absl::Status CheckSigner(const NodeId& node, const std::string& peer_name) const;

  const Options options_;
  // The CA, or why this GCS cannot sign (plain TCP, or a TLS directory without the CA's key).
  absl::StatusOr<rpc::CertificateAuthority> ca_;
};

}  // namespace orrery::gcs
