// This process's TLS identity in its cluster. A process belongs to one cluster, and every
// channel it opens and every port it serves speaks mutual TLS with that cluster's certificates
// once they are set, unless its RpcOptions name other ones (tests that run several identities
// in one process). Unset: plain TCP, as with --tls=off.
//
// Set once at start, before the first channel or server: by the daemons from --tls-dir, and
// by workers, drivers and the CLI from the cluster's TLS directory (tls_files.h).
#pragma once

#include <memory>

#include "src/rpc/tls_config.h"

namespace orrery::rpc {

void SetProcessTls(std::shared_ptr<const TlsConfig> tls);
// Null when unset.
std::shared_ptr<const TlsConfig> ProcessTls();
// `named` (a component's RpcOptions::tls) when set, else this process's; null: plain TCP.
std::shared_ptr<const TlsConfig> TlsOr(std::shared_ptr<const TlsConfig> named);

}  // namespace orrery::rpc
