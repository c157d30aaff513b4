#include "src/rpc/rpc_options.h"

#include <algorithm>
#include <climits>

namespace orrery::rpc {

namespace {
int ClampInt(int64_t value) { return static_cast<int>(std::min<int64_t>(value, INT_MAX)); }

// How long one connection attempt may take (TCP, then TLS or the token gate, then HTTP/2's
// settings) before gRPC gives it up. gRPC 1.51 reads this from GRPC_ARG_MIN_RECONNECT_BACKOFF_MS
// (the spacing of attempts is GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS's); at 100 ms a TLS handshake
// on a busy host failed, and so did the call waiting for it.
constexpr int kMinConnectTimeoutMs = 1'000;
}  // namespace

grpc::ChannelArguments MakeChannelArguments(const RpcOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(ClampInt(options.max_message_bytes));
  args.SetMaxSendMessageSize(ClampInt(options.max_message_bytes));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, ClampInt(options.keepalive_time_ms));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ClampInt(options.keepalive_timeout_ms));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Reconnect quickly to a restarted peer; the retry layer adds its own back-off.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, kMinConnectTimeoutMs);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, ClampInt(options.retry_max_backoff_ms));
  // Orrery retries idempotent calls itself, with request ids; gRPC's own retries would not
  // carry them.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  return args;
}

void ApplyServerOptions(grpc::ServerBuilder& builder, const RpcOptions& options) {
  builder.SetMaxReceiveMessageSize(ClampInt(options.max_message_bytes));
  builder.SetMaxSendMessageSize(ClampInt(options.max_message_bytes));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, ClampInt(options.keepalive_time_ms));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ClampInt(options.keepalive_timeout_ms));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             ClampInt(options.MinServerPingIntervalMs()));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, ClampInt(options.handshake_timeout_ms));
  // Never share a port with another process: a second server on a busy port must fail.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
}

}  // namespace orrery::rpc
