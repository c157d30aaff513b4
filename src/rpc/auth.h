// The cluster-token check every Orrery server runs on every call, from the call's metadata:
// in the handler (ServerCalls, for every transport) and, on TLS ports, also in gRPC's
// AuthMetadataProcessor, before the request message is read.
// (In gRPC 1.51 an AuthMetadataProcessor on insecure credentials aborts, so it is installed
// only on TLS ports; plain TCP ports check the token per connection, before HTTP/2, at their
// token gate (token_gate.h), and Unix sockets check the peer's uid.)
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"

namespace grpc {
class AuthMetadataProcessor;
}  // namespace grpc

namespace orrery::rpc {

// Constant-time equality, so a token cannot be guessed byte by byte from timings: the time
// depends only on the two lengths.
bool TokensEqual(absl::string_view a, absl::string_view b);

// Thread-safe; shared by all of a server's calls.
class TokenAuthenticator {
 public:
  TokenAuthenticator(std::string service_name, std::string token);

  // OK, or Unauthenticated saying whether the token was missing or wrong. Rejections are
  // logged with the peer's address, at most one line a second (the rest are counted).
  absl::Status Check(const grpc::ServerContextBase& context) const;

  // The same check on a token already taken from the metadata (nullopt: none was sent);
  // `peer` names the caller in the log.
  absl::Status CheckToken(std::optional<absl::string_view> token, absl::string_view peer) const;

 private:
  void LogRejection(absl::string_view peer, const char* reason) const;

  std::string service_name_;
  std::string token_;
  mutable std::atomic<int64_t> last_log_ms_{0};
  mutable std::atomic<int64_t> suppressed_{0};
};

// An AuthMetadataProcessor for TLS server credentials that refuses, with UNAUTHENTICATED and
// before gRPC reads the request message, a call
// - whose x-orrery-token is missing or wrong;
// - from a peer without a client certificate, unless it calls one of `join_methods` (full gRPC
//   paths, "/orrery.rpc.GcsService/SignNodeCertificate"): how a node gets its first one;
// - from a peer whose certificate names a node declared dead (RefuseCertificatesNamed).
std::shared_ptr<grpc::AuthMetadataProcessor> MakeTokenMetadataProcessor(std::string service_name, std::string token,
                                                                        std::vector<std::string> join_methods = {});

// The certificates of nodes the cluster declared dead, by the name they carry (the node id in
// hex): refused by every TLS port and object data socket of this process from then on, though
// the certificate is still valid (a dead node's key may be in anyone's hands now). Fed by
// whatever learns of node deaths: the GCS's node table, the raylets' and workers' subscriptions.
void RefuseCertificatesNamed(std::string common_name);
bool CertificateNameRefused(absl::string_view common_name);

}  // namespace orrery::rpc
