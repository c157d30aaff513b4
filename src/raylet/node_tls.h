// The raylet's TLS identity (docs/security.md): a ready-made directory (--tls-dir), or, when it
// joins (--ca-file / --ca-hash), a certificate of its own that the cluster CA signs for its node
// id, kept in its node folder for its workers and drivers too.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "orrery/gcs.pb.h"
#include "src/common/id.h"
#include "src/raylet/raylet_config.h"
#include "src/rpc/certificate_renewer.h"

namespace orrery::raylet {

// The TLS directory this node uses (empty: plain TCP), made first when the node joins (which
// takes precedence over --tls-dir). Errors
// name the cause: a CA of the wrong fingerprint, a wrong token, a cluster that speaks plain TCP.
absl::StatusOr<std::string> PrepareNodeTlsDir(const RayletConfig& config, const std::string& token,
                                              const NodeId& node);

// Renews the node's certificate in `dir` at two thirds of its life, by the GCS's
// SignNodeCertificate called with the certificate it replaces (a node may renew only its own),
// for as long as the result lives. Null when the directory's certificate is not the node's own
// (a --tls-dir shared with the head: its owner renews it) or there is no directory.
// What the TLS directory `dir` trusts now, read again only after a renewal replaced its files:
// for the node's reports, which a CA rotation follows. Unset when there is no directory.
std::function<std::optional<rpc::NodeTrust>()> NodeTrustReader(const std::string& dir);

std::unique_ptr<rpc::CertificateRenewer> RenewNodeCertificate(const RayletConfig& config, const std::string& token,
                                                              const NodeId& node, const std::string& dir);

}  // namespace orrery::raylet
