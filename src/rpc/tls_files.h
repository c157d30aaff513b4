// A TLS directory: the files a process of a TLS cluster reads its identity from (docs/security.md).
// Free of OpenSSL: reading and writing them is file work, and a process re-reads them after a
// renewal (ReloadedTls) wherever it keeps a TLS identity outside gRPC.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/rpc/tls_config.h"

namespace orrery::rpc {

// A node's TLS directory: the process's TlsConfig, plus the CA's key on the head only.
struct TlsMaterial {
  TlsConfig config;
  std::string ca_key_pem;  // empty except on the head
};

// Names of the files in a TLS directory.
inline constexpr char kCaCertFile[] = "ca.crt";
inline constexpr char kCaKeyFile[] = "ca.key";
inline constexpr char kNodeCertFile[] = "node.crt";
inline constexpr char kNodeKeyFile[] = "node.key";
// The certificate, the CA's certificate and the key in one file (0600), written last and by one
// rename: what gRPC's certificate watcher and ReadTlsFiles read, so that no reader ever pairs a
// renewed certificate with the key it replaced (node.crt and node.key are two renames).
inline constexpr char kIdentityFile[] = "identity.pem";

// Writes the files into `dir`, created (or corrected to) 0700. Keys are 0600, certificates
// 0644, each written to a temporary file and renamed over, so a reader never sees half a key.
// ca.key is written only when material.ca_key_pem is set.
absl::Status WriteTlsFiles(const std::string& dir, const TlsMaterial& material);

// Reads the files WriteTlsFiles writes (ca.key only when present; node.crt and node.key when
// identity.pem is absent, as a directory of an older Orrery has it). A key file that its group
// or others may read is refused with PermissionDenied naming it and the fix. The result's
// config.dir is `dir`.
absl::StatusOr<TlsMaterial> ReadTlsFiles(const std::string& dir);

std::string TlsFilePath(const std::string& dir, const char* file);

// The certificate, then the CA's: the chain every port and client presents (a joining node
// reads the CA from the GCS's handshake, cluster_tls.h).
std::string CertificateChainPem(const TlsConfig& tls);

// `tls` as its directory holds it now: the same object until a renewal replaces the identity
// file there, then the renewed set. A `tls` that names no directory is returned as it is; so
// is `tls` when the directory cannot be read.
std::shared_ptr<const TlsConfig> ReloadedTls(std::shared_ptr<const TlsConfig> tls);

}  // namespace orrery::rpc
