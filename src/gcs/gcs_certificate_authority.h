// GcsCertificateAuthority: the cluster CA at work on the head (docs/security.md, "Joining").
// It signs the CSR of a node joining a TLS cluster, or renewing, into a certificate that names
// the node, and from a node's death on it has every TLS port of the GCS refuse that node's
// certificates, which stay valid on paper until they expire. It also drives a rotation of the
// CA (ca_rotation.h): each node reports what it trusts; while one's trust is not yet what the
// phase asks, the reply to its report asks it to renew at once; a phase ends once every alive
// node has reached it and the processes on each have had time to read the new files.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "src/common/id.h"
#include "src/gcs/ca_rotation.h"
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
    // The nodes alive now: a rotation waits for each of them.
    std::function<std::vector<NodeId>()> alive_nodes;
  };
  // Goes on with a rotation the TLS directory records (this GCS restarted mid-way).
  explicit GcsCertificateAuthority(Options options);

  void HandleSignNodeCertificate(const rpc::SignNodeCertificateRequest& request, const std::string& peer_name,
                                 rpc::SignNodeCertificateReply* reply, ReplyCallback done) override;
  void HandleRotateCa(const rpc::RotateCaRequest& request, const std::string& peer_name, rpc::RotateCaReply* reply,
                      ReplyCallback done) override;
  void HandleGetCaRotation(const rpc::GetCaRotationRequest& request, rpc::GetCaRotationReply* reply,
                           ReplyCallback done) override;

  // A node's report: what it trusts now. During a rotation, `reply` says what it must trust.
  void OnNodeReport(const NodeId& node, const rpc::NodeTrust& trust, rpc::ReportResourceUsageReply* reply);

  // From now on the node's certificates are refused, none is signed for it, and a rotation no
  // longer waits for it.
  void OnNodeDead(const NodeId& node);

  // Renews the GCS's own certificate in the head's TLS directory at two thirds of its life
  // (signed here by the CA that signs then, valid certificate_seconds), for as long as the
  // result lives. Null when this GCS cannot sign (plain TCP).
  std::unique_ptr<rpc::CertificateRenewer> RenewOwnCertificate();

  // How long a phase waits once every node has reached it: every process of each node reads
  // its TLS directory again within that (tls_credentials.h).
  static constexpr int64_t kSettleMs = 5'000;

 private:
  absl::Status CheckSigner(const NodeId& node, const std::string& peer_name) const;
  // Writes the phase's files and adopts them.
  absl::Status Enter(CaRotationPhase phase);
  // Makes the directory's CA this GCS's, and the phase's trust what every node must reach.
  absl::Status AdoptPhaseLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(dir_writes_);
  // Enters the next phase once every alive node has settled in this one.
  void AdvanceWhenSettled();
  std::vector<NodeId> PendingNodes() const;
  rpc::CaRotationStatus Status() const;

  const Options options_;
  // Held while the head's TLS directory is read and written: by a phase change here, and by the
  // renewer of the GCS's own certificate on its thread.
  absl::Mutex dir_writes_;
  // The CA that signs (its cert_pem: the trust bundle, signing CA first), or why this GCS cannot
  // sign (plain TCP, or a TLS directory without the CA's key).
  absl::StatusOr<rpc::CertificateAuthority> ca_;
  CaRotation rotation_;
  rpc::NodeTrust wanted_;  // during a rotation: what every node must trust
  int64_t phase_started_ms_ = 0;
  int64_t settled_since_ms_ = 0;  // since when every alive node has had wanted_ (0: not all do)
  int64_t last_check_ms_ = 0;
  absl::flat_hash_map<NodeId, rpc::NodeTrust> trust_;  // as each node last reported it
};

}  // namespace orrery::gcs
