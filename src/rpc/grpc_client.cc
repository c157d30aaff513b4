#include "src/rpc/grpc_client.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "src/common/random.h"
#include "src/rpc/process_tls.h"
#include "src/rpc/tls_credentials.h"
#include "src/rpc/token_gate.h"

namespace orrery::rpc {

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, const RpcOptions& options,
                                           absl::string_view token) {
  grpc::ChannelArguments args = MakeChannelArguments(options);
  std::shared_ptr<const TlsConfig> tls = TlsOr(options.tls);
  const bool unix_socket = internal::IsUnixTarget(target);
  if (tls == nullptr || unix_socket) {
    if (!unix_socket) AddTokenGateArguments(args, token);
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  }
  // Every certificate of the cluster CA names kClusterServerName, whatever address it serves on.
  args.SetSslTargetNameOverride(kClusterServerName);
  return grpc::CreateCustomChannel(target, MutualTlsChannelCredentials(*tls), args);
}

namespace internal {

bool IsUnixTarget(absl::string_view target) {
  return absl::StartsWith(target, "unix:") || absl::StartsWith(target, "unix-abstract:");
}

int64_t BackoffMs(const RpcOptions& options, int attempt) {
  double base = static_cast<double>(options.retry_initial_backoff_ms);
  for (int i = 1; i < attempt && base < options.retry_max_backoff_ms; ++i) base *= 2;
  base = std::min(base, static_cast<double>(options.retry_max_backoff_ms));
  thread_local std::minstd_rand rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return std::max<int64_t>(1, static_cast<int64_t>(base * jitter(rng)));
}

std::string NewRequestId() { return HexEncode(RandomBytes(12)); }

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool IsRetryable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable || status.code() == absl::StatusCode::kDeadlineExceeded;
}

absl::Status TooLargeError(size_t size, int64_t limit, const std::string& peer) {
  return absl::ResourceExhaustedError(absl::StrCat("a request of ", size, " bytes to ", peer,
                                                   " exceeds the message limit of ", limit, " bytes"));
}

}  // namespace internal
}  // namespace orrery::rpc
