// The cluster-token check every Orrery server runs on every call, from the call's metadata.
// (In gRPC 1.51 an AuthMetadataProcessor on insecure credentials aborts, so it lives here.)
#pragma once

#include "absl/strings/string_view.h"
#include <atomic>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/server_context.h"

namespace orrery::rpc {

// Compares two tokens in time that depends only on their lengths.
bool TokensEqual(absl::string_view a, absl::string_view b);

class TokenAuthenticator {
 public:
  TokenAuthenticator(std::string service_name, std::string token);

  // OK, or Unauthenticated saying whether the token was missing or wrong. Rejections are
  // logged with the peer's address, at most one line a second (the rest are counted).
  absl::Status Check(const grpc::ServerContextBase& context) const;

 private:
  void LogRejection(const std::string& peer, const char* reason) const;

  std::string service_name_;
  std::string token_;
  mutable std::atomic<int64_t> last_log_ms_{0};
  mutable std::atomic<int64_t> suppressed_{0};
};

// Constant-time equality, so a token cannot be guessed byte by byte from timings.
bool TokensEqual(absl::string_view a, absl::string_view b);

}  // namespace orrery::rpc
