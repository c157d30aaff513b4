// Where a process of the cluster gets its TLS identity (process_tls.h) from: a TLS directory
// (tls_certificates.h's files). The head makes its directory; a daemon started with --tls-dir
// uses it and names it in ORRERY_TLS_DIR, so that the workers and drivers it starts use it too.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace orrery::rpc {

inline constexpr char kTlsDirEnv[] = "ORRERY_TLS_DIR";

// Node certificates the head issues live this long (renewed by their holder at two thirds).
inline constexpr int64_t kNodeCertificateSeconds = 30LL * 24 * 3600;

// Reads `dir`'s CA, certificate and key, makes them this process's, and names `dir` in
// ORRERY_TLS_DIR for the processes it starts. An expired or foreign certificate is refused.
absl::Status UseTlsDir(const std::string& dir);

// Back to plain TCP, and ORRERY_TLS_DIR unset: a driver that shut down and joins another
// cluster must not carry the first one's certificates there.
void UsePlainTcp();

// UseTlsDir($ORRERY_TLS_DIR) when it is set; OK (and plain TCP) when not.
absl::Status UseTlsDirFromEnvironment();

// The head's TLS directory: the cluster CA, made when `dir` has none and kept otherwise (the
// nodes that trust it go on trusting it), and a fresh key and certificate for the head's
// daemons, valid `validity_seconds`.
absl::Status PrepareHeadTlsDir(const std::string& dir, int64_t validity_seconds = kNodeCertificateSeconds);

}  // namespace orrery::rpc
