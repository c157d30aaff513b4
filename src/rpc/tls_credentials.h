// gRPC's mutual-TLS credentials for a process's TLS identity (tls_config.h). An identity read
// from a TLS directory is watched there: a renewal written into the directory (tls_files.h)
// reaches every port the process serves and every channel it opens from their next handshake
// on, within kTlsWatchSeconds, without a restart. Connections already made keep their session.
#pragma once

#include <memory>

#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "src/rpc/tls_config.h"

namespace orrery::rpc {

// How often a watched directory is read again. A renewal leaves a third of a certificate's life
// (days in production, seconds in the renewal tests) for it to be noticed.
inline constexpr int kTlsWatchSeconds = 2;

std::shared_ptr<grpc::ChannelCredentials> MutualTlsChannelCredentials(const TlsConfig& tls);

// `require_client_certificate` false: the handshake asks for one and verifies it when given,
// and the call is refused later (auth.h) unless its method needs none.
std::shared_ptr<grpc::ServerCredentials> MutualTlsServerCredentials(const TlsConfig& tls,
                                                                   bool require_client_certificate);

}  // namespace orrery::rpc
