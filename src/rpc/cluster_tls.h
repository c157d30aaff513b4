// Where a process of the cluster gets its TLS identity (process_tls.h) from: a TLS directory
// (tls_certificates.h's files). The head makes its directory; a daemon started with --tls-dir
// uses it and names it in ORRERY_TLS_DIR, so that the workers and drivers it starts use it too.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "src/rpc/tls_certificates.h"

namespace orrery::rpc {

inline constexpr char kTlsDirEnv[] = "ORRERY_TLS_DIR";

// What a process started with TLS off says at start (after naming the flag that turned it off).
inline constexpr char kPlainTcpWarning[] =
    "the cluster token and every value cross the network in clear text; use it only on a network you trust";

// Node certificates the head issues live this long (renewed by their holder at two thirds).
inline constexpr int64_t kNodeCertificateSeconds = 30LL * 24 * 3600;

// Reads `dir`'s CA, certificate and key, makes them this process's, refuses the dead nodes'
// certificates its daemon lists there (refused_names_file.h), and names `dir` in
// ORRERY_TLS_DIR for the processes it starts. An expired or foreign certificate is refused.
absl::Status UseTlsDir(const std::string& dir);

// Back to plain TCP, and ORRERY_TLS_DIR unset: a driver that shut down and joins another
// cluster must not carry the first one's certificates there.
void UsePlainTcp();

// UseTlsDir($ORRERY_TLS_DIR) when it is set; OK (and plain TCP) when not.
absl::Status UseTlsDirFromEnvironment();

// The name on the certificate of the head's daemons (and of the CLI and drivers on its host).
inline constexpr char kHeadCertificateName[] = "head";

// The head's TLS directory: the cluster CA, made when `dir` has none and kept otherwise (the
// nodes that trust it go on trusting it), and a fresh key and certificate for the head's
// daemons, valid `validity_seconds`.
absl::Status PrepareHeadTlsDir(const std::string& dir, int64_t validity_seconds = kNodeCertificateSeconds);

// Writes the head's TLS files into `dir`: `trust_bundle` (the CAs trusted, `signer` first), the
// signing CA's key, and a fresh key and head certificate that `signer` issues, valid
// `validity_seconds`.
struct CertificateAuthority;
absl::Status IssueHeadIdentity(const std::string& dir, const CertificateAuthority& signer,
                               const std::string& trust_bundle, int64_t validity_seconds);

// The cluster CA's certificate, as the GCS at `address` (HOST:PORT) presents it in its TLS
// handshake, accepted only when its fingerprint is `ca_hash` ("sha256:<hex>", what
// `orrery start --head` prints) and the GCS's own certificate was issued by it: how a joining
// node learns whom to trust without trusting the network (kubeadm's discovery, by pinning).
// Unauthenticated when no CA of that hash is presented, FailedPrecondition when the GCS speaks
// plain TCP, Unavailable or DeadlineExceeded when it cannot be reached within `timeout_ms`.
absl::StatusOr<std::string> FetchClusterCa(const std::string& address, absl::string_view ca_hash, int64_t timeout_ms);

}  // namespace orrery::rpc
