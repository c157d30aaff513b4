// Every gRPC knob Orrery sets, in one place, applied identically to clients and servers:
// message-size limits, keepalives, deadlines and retry back-off.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "grpcpp/server_builder.h"
#include "grpcpp/support/channel_arguments.h"
#include "src/rpc/tls_config.h"

namespace orrery::rpc {

// Metadata keys Orrery reads and writes.
inline constexpr char kTokenMetadataKey[] = "x-orrery-token";
inline constexpr char kRequestIdMetadataKey[] = "x-orrery-request-id";

struct RpcOptions {
  // The largest message either side sends or accepts. Values up to the inline-object limit
  // (256 MiB) must fit, with room for the envelope around them.
  int64_t max_message_bytes = 256LL * 1024 * 1024 + 4 * 1024 * 1024;

  // A client pings an idle connection this often to find a dead peer. The server accepts
  // pings at up to twice this rate (so clock jitter never earns a GOAWAY).
  int64_t keepalive_time_ms = 30'000;
  // Without an answer to a ping for this long the connection is dead.
  int64_t keepalive_timeout_ms = 10'000;

  // A connection must finish its handshake (TLS, then HTTP/2's preface and settings) this soon
  // after it is accepted, or it is closed: a peer trickling bytes holds nothing longer.
  int64_t handshake_timeout_ms = 10'000;

  // The deadline a call gets when its caller names none.
  int64_t default_deadline_ms = 10'000;

  // Retries of idempotent calls: exponential back-off with jitter, within a total budget.
  int64_t retry_initial_backoff_ms = 50;
  int64_t retry_max_backoff_ms = 2'000;
  int64_t retry_budget_ms = 30'000;

  // Mutual TLS for TCP channels and ports, with the cluster CA as the only root; null: plain
  // TCP. Unix sockets never use it: peer credentials and file modes authenticate them.
  std::shared_ptr<const TlsConfig> tls;

  // The server-side minimum interval between client pings it tolerates.
  int64_t MinServerPingIntervalMs() const { return keepalive_time_ms / 2; }
};

// Channel arguments for a client channel.
grpc::ChannelArguments MakeChannelArguments(const RpcOptions& options);

// Applies the same limits and the matching keepalive policy to a server.
void ApplyServerOptions(grpc::ServerBuilder& builder, const RpcOptions& options);

}  // namespace orrery::rpc
