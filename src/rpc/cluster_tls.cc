#include "src/rpc/cluster_tls.h"

#include <cstdlib>
#include <memory>

#include "src/common/status.h"
#include "src/rpc/process_tls.h"
#include "src/rpc/tls_certificates.h"

namespace orrery::rpc {

absl::Status UseTlsDir(const std::string& dir) {
  auto material = ReadTlsFiles(dir);
  if (!material.ok()) return Annotate(material.status(), "reading the TLS directory " + dir);
  if (absl::Status valid = VerifyCertificate(material->config.ca_cert_pem, material->config.cert_pem); !valid.ok()) {
    return Annotate(valid, "the certificate in " + dir);
  }
  SetProcessTls(std::make_shared<const TlsConfig>(std::move(material->config)));
  setenv(kTlsDirEnv, dir.c_str(), /*overwrite=*/1);
  return absl::OkStatus();
}

void UsePlainTcp() {
  SetProcessTls(nullptr);
  unsetenv(kTlsDirEnv);
}

absl::Status UseTlsDirFromEnvironment() {
  const char* dir = std::getenv(kTlsDirEnv);
  if (dir == nullptr || *dir == '\0') return absl::OkStatus();
  return UseTlsDir(dir);
}

absl::Status PrepareHeadTlsDir(const std::string& dir, int64_t validity_seconds) {
  CertificateAuthority ca;
  if (auto existing = ReadTlsFiles(dir); existing.ok() && !existing->ca_key_pem.empty()) {
    ca = {existing->config.ca_cert_pem, existing->ca_key_pem};
  } else {
    ORRERY_ASSIGN_OR_RETURN(ca, CreateClusterCa());
  }
  ORRERY_ASSIGN_OR_RETURN(KeyAndCsr head, MakeKeyAndCsr("head"));
  ORRERY_ASSIGN_OR_RETURN(std::string cert, IssueCertificate(ca, head.csr_pem, "head", validity_seconds));
  TlsMaterial material{TlsConfig{ca.cert_pem, cert, head.key_pem}, ca.key_pem};
  return WriteTlsFiles(dir, material);
}

}  // namespace orrery::rpc
