#include "absl/strings/string_view.h"
#include "src/rpc/auth.h"

#include "src/common/log.h"
#include "src/common/clock.h"
#include "src/rpc/rpc_options.h"

namespace orrery::rpc {

TokenAuthenticator::TokenAuthenticator(std::string service_name, std::string token)
    : service_name_(std::move(service_name)), token_(std::move(token)) {}

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

absl::Status TokenAuthenticator::Check(const grpc::ServerContextBase& context) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kTokenMetadataKey);
  if (it == metadata.end() || it->second.empty()) {
    LogRejection(context.peer(), "no token");
    return absl::UnauthenticatedError("the call carries no cluster token; pass --token or set ORRERY_TOKEN");
  }
  if (!TokensEqual(absl::string_view(it->second.data(), it->second.size()), token_)) {
    LogRejection(context.peer(), "wrong token");
    return absl::UnauthenticatedError("wrong cluster token");
  }
  return absl::OkStatus();
}

void TokenAuthenticator::LogRejection(const std::string& peer, const char* reason) const {
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

}  // namespace orrery::rpc
