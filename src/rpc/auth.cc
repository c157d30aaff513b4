#include "src/rpc/auth.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_metadata_processor.h"

#include "src/common/clock.h"
#include "src/common/log.h"
#include "src/rpc/rpc_options.h"
#include "src/rpc/status_conversion.h"

namespace orrery::rpc {

bool TokensEqual(absl::string_view a, absl::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

TokenAuthenticator::TokenAuthenticator(std::string service_name, std::string token)
    : service_name_(std::move(service_name)), token_(std::move(token)) {}

absl::Status TokenAuthenticator::Check(const grpc::ServerContextBase& context) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kTokenMetadataKey);
  std::optional<absl::string_view> token;
  if (it != metadata.end()) token = absl::string_view(it->second.data(), it->second.size());
  return CheckToken(token, context.peer());
}

absl::Status TokenAuthenticator::CheckToken(std::optional<absl::string_view> token, absl::string_view peer) const {
  if (!token.has_value() || token->empty()) {
    LogRejection(peer, "no token");
    return absl::UnauthenticatedError("the call carries no cluster token; pass --token or set ORRERY_TOKEN");
  }
  if (!TokensEqual(*token, token_)) {
    LogRejection(peer, "wrong token");
    return absl::UnauthenticatedError("wrong cluster token");
  }
  return absl::OkStatus();
}

void TokenAuthenticator::LogRejection(absl::string_view peer, const char* reason) const {
  int64_t now = MonotonicMs();
  int64_t last = last_log_ms_.load();
  if (now - last < 1000 || !last_log_ms_.compare_exchange_strong(last, now)) {
    ++suppressed_;
    return;
  }
  int64_t suppressed = suppressed_.exchange(0);
  spdlog::warn("{}: refused a call from {}: {}{}", service_name_, peer, reason,
               suppressed > 0 ? fmt::format(" ({} more refusals not logged)", suppressed) : "");
}

namespace {

// Runs inside gRPC's server auth filter, when a call's initial metadata has arrived: gRPC
// publishes the call, and so reads its request message, only once Process has answered OK.
class TokenMetadataProcessor final : public grpc::AuthMetadataProcessor {
 public:
  TokenMetadataProcessor(std::string service_name, std::string token)
      : auth_(std::move(service_name), std::move(token)) {}

  // Not blocking: Process only compares a few bytes (and at most once a second logs a line).
  // A blocking processor would have gRPC's C++ wrapper hand every call to its thread pool and
  // back (AuthMetadataProcessorAyncWrapper::Process in src/cpp/server/secure_server_credentials.cc),
  // a thread hop of tens of µs on each call for a check that takes well under one.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext* context, OutputMetadata* /*consumed*/,
                       OutputMetadata* /*response*/) override {
    // The token is left in the metadata (not "consumed"): ServerCalls checks it again.
    auto it = metadata.find(kTokenMetadataKey);
    std::optional<absl::string_view> token;
    if (it != metadata.end()) token = absl::string_view(it->second.data(), it->second.size());
    return ToGrpcStatus(auth_.CheckToken(token, PeerName(*context)));
  }

 private:
  // The auth context knows the peer's certificate, not its address; the name on a certificate
  // of the cluster CA says more (which node holds a valid certificate but a wrong token).
  static std::string PeerName(const grpc::AuthContext& context) {
    std::vector<grpc::string_ref> names = context.FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
    if (names.empty()) return "a TLS peer";
    return absl::StrCat("the TLS peer ", absl::string_view(names.front().data(), names.front().size()));
  }

  const TokenAuthenticator auth_;
};

}  // namespace

std::shared_ptr<grpc::AuthMetadataProcessor> MakeTokenMetadataProcessor(std::string service_name, std::string token) {
  return std::make_shared<TokenMetadataProcessor>(std::move(service_name), std::move(token));
}

}  // namespace orrery::rpc
