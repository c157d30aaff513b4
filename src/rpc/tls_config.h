// What a process needs to speak mutual TLS with the rest of its cluster. Deliberately free of
// OpenSSL and gRPC headers: rpc_options.h, which nearly every component includes, carries one.
#pragma once

#include <string>

namespace orrery::rpc {

// The DNS name every node certificate carries besides its own node name, and the name every
// client expects (GRPC_SSL_TARGET_NAME_OVERRIDE_ARG). A peer is trusted because the cluster CA
// signed its certificate, not because of the host it was reached at: addresses change with
// NAT, re-IP and --node-ip-address, the CA does not.
inline constexpr char kClusterServerName[] = "orrery.cluster";

// PEM texts, as read by ReadTlsFiles (tls_files.h). Shared as
// std::shared_ptr<const TlsConfig> so a renewal swaps the whole set at once.
struct TlsConfig {
  std::string ca_cert_pem;  // the cluster CA: the only root trusted for peers
  std::string cert_pem;     // this process's certificate, signed by the CA
  std::string key_pem;      // its private key
  // The TLS directory these were read from (tls_files.h); empty when they live in memory only.
  // gRPC credentials made from a set with a directory watch its files, so a renewal written
  // there reaches every port and channel of the process without a restart.
  std::string dir;
};

}  // namespace orrery::rpc
