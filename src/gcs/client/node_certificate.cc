#include "src/gcs/client/node_certificate.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "orrery/gcs.grpc.pb.h"
#include "orrery/version.h"
#include "src/common/file_util.h"
#include "src/common/status.h"
#include "src/rpc/cluster_tls.h"
#include "src/rpc/grpc_client.h"
#include "src/rpc/tls_certificates.h"

namespace orrery::gcs {

absl::StatusOr<rpc::TlsConfig> RequestNodeCertificate(const NodeCertificateRequest& request) {
  ORRERY_ASSIGN_OR_RETURN(rpc::KeyAndCsr key, rpc::MakeKeyAndCsr(request.node.Hex()));
  rpc::RpcOptions options = request.rpc;
  if (options.tls == nullptr) options.tls = std::make_shared<const rpc::TlsConfig>(rpc::TlsConfig{request.ca_cert_pem});
  std::string peer = "GCS at " + request.gcs_address;
  rpc::GrpcClient<rpc::GcsService> client(rpc::MakeChannel(request.gcs_address, options, request.token),
                                          rpc::ClientOptions{peer, request.token, options});
  rpc::SignNodeCertificateRequest sign;
  sign.set_csr_pem(key.csr_pem);
  sign.set_node_id(request.node.Binary());
  rpc::CallOptions call;
  call.retry = true;  // idempotent: a repeat signs again
  call.retry_budget_ms = request.timeout_ms;
  auto reply = client.CallSync(&rpc::GcsService::Stub::async::SignNodeCertificate, sign, call);
  if (!reply.ok()) return Annotate(reply.status(), "asking the " + peer + " for this node's certificate");
  if (reply->version() != ORRERY_VERSION_STRING) {
    return absl::FailedPreconditionError(absl::StrCat("the cluster at ", request.gcs_address, " runs Orrery ",
                                                      reply->version(), ", this host runs Orrery ",
                                                      ORRERY_VERSION_STRING));
  }
  // The GCS proved itself with a certificate of the CA this node trusts, so the CAs it names are
  // the cluster's: during a CA rotation they change (docs/security.md, "Rotating the CA"). A
  // GCS of an older Orrery names none: the trust stays.
  std::string trusted = reply->ca_cert_pem().empty() ? request.ca_cert_pem : reply->ca_cert_pem();
  if (absl::Status issued = rpc::VerifyCertificate(trusted, reply->cert_pem()); !issued.ok()) {
    return Annotate(issued, "the certificate the " + peer + " signed");
  }
  return rpc::TlsConfig{std::move(trusted), reply->cert_pem(), key.key_pem};
}

absl::StatusOr<std::string> TrustedClusterCa(const std::string& gcs_address, const std::string& ca_file,
                                             const std::string& ca_hash, int64_t timeout_ms) {
  if (!ca_file.empty()) {
    ORRERY_ASSIGN_OR_RETURN(std::string ca, ReadFileToString(ca_file));
    if (!ca_hash.empty()) ORRERY_RETURN_IF_ERROR(rpc::MatchCaFingerprint(ca, ca_hash));
    return ca;
  }
  if (ca_hash.empty()) {
    return absl::InvalidArgumentError("joining a TLS cluster needs the CA's fingerprint (--ca-hash sha256:..., "
                                      "printed by `orrery start --head`) or its certificate");
  }
  return rpc::FetchClusterCa(gcs_address, ca_hash, timeout_ms);
}

}  // namespace orrery::gcs
