// The name on a TLS peer's certificate, as gRPC's auth context holds it: for certificates of
// the cluster CA, the node id in hex (or "head"). Apart from auth.h, which nearly every server
// includes through server_calls.h.
#pragma once

#include <string>

namespace grpc {
class AuthContext;
}  // namespace grpc

namespace orrery::rpc {

// Empty when the peer presented no certificate (or the port is plain).
std::string PeerCertificateName(const grpc::AuthContext& context);

}  // namespace orrery::rpc
