#include "src/raylet/node_tls.h"

#include <algorithm>
#include <ctime>

#include "src/common/session.h"
#include "src/common/status.h"
#include "src/gcs/client/node_certificate.h"
#include "src/gcs/node_trust.h"
#include "src/rpc/tls_certificates.h"

namespace orrery::raylet {
namespace {

constexpr int64_t kRenewalAttemptMs = 3000;

}  // namespace

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

std::function<std::optional<rpc::NodeTrust>()> NodeTrustReader(const std::string& dir) {
  if (dir.empty()) return nullptr;
  struct Seen {
    std::shared_ptr<const rpc::TlsConfig> files;
    std::optional<rpc::NodeTrust> trust;
  };
  auto seen = std::make_shared<Seen>();
  auto named = std::make_shared<const rpc::TlsConfig>(rpc::TlsConfig{"", "", "", dir});
  // Called on the raylet's loop only.
  return [seen, named]() -> std::optional<rpc::NodeTrust> {
    std::shared_ptr<const rpc::TlsConfig> files = rpc::ReloadedTls(named);
    if (files == seen->files) return seen->trust;
    seen->files = files;
    seen->trust.reset();
    absl::StatusOr<rpc::TrustState> state = rpc::DescribeTrust(*files);
    if (!state.ok()) return std::nullopt;
    seen->trust = gcs::ToNodeTrust(*state);
    return seen->trust;
  };
}

std::unique_ptr<rpc::CertificateRenewer> RenewNodeCertificate(const RayletConfig& config, const std::string& token,
                                                              const NodeId& node, const std::string& dir) {
  if (dir.empty()) return nullptr;
  auto material = rpc::ReadTlsFiles(dir);
  if (!material.ok()) return nullptr;
  auto info = rpc::ReadCertificateInfo(material->config.cert_pem);
  if (!info.ok() || info->common_name != node.Hex()) return nullptr;
  auto renew = [config, token, node](const rpc::TlsConfig& current, const rpc::CertificateInfo& held) {
    // One attempt, briefly: the renewer tries again a second later on a fresh connection, so a
    // GCS that was away is asked as soon as it is back (not after a long call's backoff).
    gcs::NodeCertificateRequest request{config.gcs_address, token, node, current.ca_cert_pem, config.rpc,
                                        kRenewalAttemptMs};
    request.rpc.default_deadline_ms = std::min(request.rpc.default_deadline_ms, kRenewalAttemptMs);
    if (held.not_after > std::time(nullptr)) {
      request.rpc.tls = std::make_shared<const rpc::TlsConfig>(current);  // presented: the GCS checks it is ours
    } else {
      // An expired certificate opens no connection (the GCS was away past its expiry): the node
      // joins again with the token, as it first did. The GCS still refuses a node it declared dead.
      request.rpc.tls = nullptr;
    }
    return gcs::RequestNodeCertificate(request);
  };
  return std::make_unique<rpc::CertificateRenewer>(dir, "node " + node.Hex(), std::move(renew));
}

}  // namespace orrery::raylet
