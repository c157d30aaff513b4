#include "src/rpc/cluster_tls.h"

#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/common/net.h"
#include "src/common/status.h"
#include "src/rpc/process_tls.h"
#include "src/rpc/refused_names_file.h"
#include "src/rpc/tls_certificates.h"
#include "src/rpc/tls_socket.h"

namespace orrery::rpc {

absl::Status UseTlsDir(const std::string& dir) {
  auto material = ReadTlsFiles(dir);
  if (!material.ok()) return Annotate(material.status(), "reading the TLS directory " + dir);
  if (absl::Status valid = VerifyCertificate(material->config.ca_cert_pem, material->config.cert_pem); !valid.ok()) {
    return Annotate(valid, "the certificate in " + dir);
  }
  // gRPC would take a key of another certificate and fail every handshake later, unexplained.
  if (auto paired = TlsContext::Create(material->config, TlsContext::Side::kServer); !paired.ok()) {
    return Annotate(paired.status(), "the key and certificate in " + dir);
  }
  SetProcessTls(std::make_shared<const TlsConfig>(std::move(material->config)));
  FollowRefusedNames(TlsFilePath(dir, kRefusedNamesFile));
  setenv(kTlsDirEnv, dir.c_str(), /*overwrite=*/1);
  return absl::OkStatus();
}

void UsePlainTcp() {
  SetProcessTls(nullptr);
  FollowRefusedNames("");
  unsetenv(kTlsDirEnv);
}

absl::Status UseTlsDirFromEnvironment() {
  const char* dir = std::getenv(kTlsDirEnv);
  if (dir == nullptr || *dir == '\0') return absl::OkStatus();
  return UseTlsDir(dir);
}

absl::Status PrepareHeadTlsDir(const std::string& dir, int64_t validity_seconds) {
  // An existing directory's trust is kept whole: during a CA rotation it names two CAs, the
  // signing one (whose key ca.key is) first.
  if (auto existing = ReadTlsFiles(dir); existing.ok() && !existing->ca_key_pem.empty()) {
    CertificateAuthority signer{existing->config.ca_cert_pem, existing->ca_key_pem};
    return IssueHeadIdentity(dir, signer, existing->config.ca_cert_pem, validity_seconds);
  }
  ORRERY_ASSIGN_OR_RETURN(CertificateAuthority ca, CreateClusterCa());
  return IssueHeadIdentity(dir, ca, ca.cert_pem, validity_seconds);
}

absl::Status IssueHeadIdentity(const std::string& dir, const CertificateAuthority& signer,
                               const std::string& trust_bundle, int64_t validity_seconds) {
  ORRERY_ASSIGN_OR_RETURN(KeyAndCsr head, MakeKeyAndCsr(kHeadCertificateName));
  // IssueCertificate signs as the first certificate of signer.cert_pem.
  ORRERY_ASSIGN_OR_RETURN(std::string cert,
                          IssueCertificate(signer, head.csr_pem, kHeadCertificateName, validity_seconds));
  return WriteTlsFiles(dir, TlsMaterial{TlsConfig{trust_bundle, cert, head.key_pem}, signer.key_pem});
}

absl::StatusOr<std::string> FetchClusterCa(const std::string& address, absl::string_view ca_hash, int64_t timeout_ms) {
  ORRERY_ASSIGN_OR_RETURN(std::string wanted, ParseCaFingerprint(ca_hash));
  ORRERY_ASSIGN_OR_RETURN(HostPort target, ParseHostPort(address));
  ORRERY_ASSIGN_OR_RETURN(std::shared_ptr<const TlsContext> context, TlsContext::CreateUnverifiedClient());
  ORRERY_ASSIGN_OR_RETURN(int fd, ConnectTcp(target.host, target.port, timeout_ms));
  absl::Cleanup close_socket = [fd] { close(fd); };  // after the TLS session on it ends
  std::string peer = "the GCS at " + address;
  auto socket = TlsSocket::Connect(fd, *context, peer, timeout_ms);
  if (!socket.ok()) {
    if (absl::IsFailedPrecondition(socket.status())) {
      return absl::FailedPreconditionError(absl::StrCat(peer, " speaks plain TCP (its cluster runs with --tls=off): ",
                                                        "join it without --ca-hash"));
    }
    return Annotate(socket.status(), "fetching the cluster CA");
  }
  std::vector<std::string> chain = (*socket)->PeerCertificateChain();
  std::vector<std::string> presented;
  for (size_t i = 1; i < chain.size(); ++i) {
    absl::StatusOr<std::string> fingerprint = CaFingerprint(chain[i]);
    if (!fingerprint.ok()) continue;
    if (*fingerprint != wanted) {
      presented.push_back(*fingerprint);
      continue;
    }
    // The handshake proved the GCS holds the key of chain[0]; the CA must have certified it.
    if (absl::Status issued = VerifyCertificate(chain[i], chain[0]); !issued.ok()) {
      return Annotate(issued, absl::StrCat("the certificate of ", peer));
    }
    return chain[i];
  }
  return absl::UnauthenticatedError(absl::StrCat(
      peer, " presented no CA certificate with the hash ", wanted,
      presented.empty() ? std::string(" (it presented none)")
                        : absl::StrCat(" (it presented ", absl::StrJoin(presented, ", "), ")"),
      ": the address is not this cluster's head, or the connection is being intercepted"));
}

}  // namespace orrery::rpc
