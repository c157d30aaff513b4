// How a node of a TLS cluster gets its certificate (docs/security.md, "Joining"), as kubeadm
// joins a node: it trusts the cluster CA (read from the head's session on the head's host, or
// fetched from the GCS and accepted only with the fingerprint the user was given), makes its own
// key and a CSR, and has the GCS sign the CSR into a certificate naming the node. That call
// carries the token over TLS that verified the GCS against the CA, so the token never goes to
// a server the CA did not certify. The private key never leaves the node.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "src/common/id.h"
#include "src/rpc/rpc_options.h"
#include "src/rpc/tls_config.h"

namespace orrery::gcs {

struct NodeCertificateRequest {
  std::string gcs_address;  // HOST:PORT
  std::string token;
  NodeId node;              // the id the certificate names
  // Whom the node trusts: the GCS must present a certificate this CA issued.
  std::string ca_cert_pem;
  // With tls set, the call presents that certificate (a renewal); without, none (a join).
  rpc::RpcOptions rpc;
  // Retried for this long while the GCS cannot be reached (it may be starting).
  int64_t timeout_ms = 30'000;
};

// A fresh key, the certificate the GCS signed for it, and the CAs the GCS says to trust (during
// a CA rotation, two): the node's TLS identity.
// Errors name what went wrong: a wrong token (Unauthenticated), a dead node (PermissionDenied),
// a plain cluster (FailedPrecondition), another Orrery version (FailedPrecondition).
absl::StatusOr<rpc::TlsConfig> RequestNodeCertificate(const NodeCertificateRequest& request);

// Where a joining node's trust comes from: `ca_file` (a CA certificate on this host, the head's
// session's) when set, else the CA the GCS presents, pinned by `ca_hash`.
absl::StatusOr<std::string> TrustedClusterCa(const std::string& gcs_address, const std::string& ca_file,
                                             const std::string& ca_hash, int64_t timeout_ms);

}  // namespace orrery::gcs
