#include "src/raylet/node_tls.h"

#include "src/common/session.h"
#include "src/common/status.h"
#include "src/gcs/client/node_certificate.h"
#include "src/rpc/tls_certificates.h"

namespace orrery::raylet {

absl::StatusOr<std::string> PrepareNodeTlsDir(const RayletConfig& config, const std::string& token,
                                              const NodeId& node) {
  // Joining wins over a TLS directory, which the raylet may have inherited as ORRERY_TLS_DIR
  // from the process that started it (the CLI on the head's host uses the head's).
  if (config.ca_file.empty() && config.ca_hash.empty()) return config.tls_dir;
  if (config.session_dir.empty()) return absl::InvalidArgumentError("joining a TLS cluster needs --session-dir");
  ORRERY_ASSIGN_OR_RETURN(
      std::string ca, gcs::TrustedClusterCa(config.gcs_address, config.ca_file, config.ca_hash,
                                            config.gcs_connect_timeout_ms));
  gcs::NodeCertificateRequest request{config.gcs_address, token, node, ca, config.rpc,
                                      config.gcs_connect_timeout_ms};
  request.rpc.tls = nullptr;  // none yet: the GCS serves its one join method without
  ORRERY_ASSIGN_OR_RETURN(rpc::TlsConfig identity, gcs::RequestNodeCertificate(request));
  std::string dir = SessionDir(config.session_dir).NodeDir(node) + "/tls";
  ORRERY_RETURN_IF_ERROR(rpc::WriteTlsFiles(dir, rpc::TlsMaterial{std::move(identity), ""}));
  return dir;
}

}  // namespace orrery::raylet
