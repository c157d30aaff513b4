// gRPC knobs (src/rpc/rpc_options.h): the channel arguments a client and a server really get.
#include "src/rpc/rpc_options.h"

#include <climits>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "gtest/gtest.h"
#include "orrery/node_manager.grpc.pb.h"

namespace orrery::rpc {
namespace {

// The last integer value of `key` in `args` (a later value overrides an earlier one).
std::optional<int> IntArg(const grpc::ChannelArguments& args, const char* key) {
  grpc_channel_args c = args.c_channel_args();
  std::optional<int> value;
  for (size_t i = 0; i < c.num_args; ++i) {
    if (std::strcmp(c.args[i].key, key) == 0 && c.args[i].type == GRPC_ARG_INTEGER) value = c.args[i].value.integer;
  }
  return value;
}

// A builder option added after ApplyServerOptions: it sees every argument the server is built with.
class CaptureArguments : public grpc::ServerBuilderOption {
 public:
  explicit CaptureArguments(grpc::ChannelArguments* out) : out_(out) {}
  void UpdateArguments(grpc::ChannelArguments* args) override { *out_ = *args; }
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*) override {}

 private:
  grpc::ChannelArguments* out_;
};

// The arguments a server built with ApplyServerOptions(options) runs with.
grpc::ChannelArguments ServerArguments(const RpcOptions& options) {
  grpc::ChannelArguments captured;
  grpc::ServerBuilder builder;
  ApplyServerOptions(builder, options);
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  NodeManagerService::CallbackService service;  // a server needs one to start
  builder.RegisterService(&service);
  builder.SetOption(std::make_unique<CaptureArguments>(&captured));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  EXPECT_NE(server, nullptr);
  if (server != nullptr) server->Shutdown();
  return captured;
}

TEST(RpcOptionsTest, ClientMessageLimitsAreTheMaxMessageSize) {
  RpcOptions options;
  options.max_message_bytes = 12345;
  grpc::ChannelArguments args = MakeChannelArguments(options);
  EXPECT_EQ(IntArg(args, GRPC_ARG_MAX_SEND_MESSAGE_LENGTH), 12345);
  EXPECT_EQ(IntArg(args, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH), 12345);
}

TEST(RpcOptionsTest, TheDefaultLimitFitsTheLargestInlineObject) {
  RpcOptions options;
  grpc::ChannelArguments args = MakeChannelArguments(options);
  EXPECT_GT(IntArg(args, GRPC_ARG_MAX_SEND_MESSAGE_LENGTH).value_or(0), 256 * 1024 * 1024);
  EXPECT_GT(IntArg(args, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH).value_or(0), 256 * 1024 * 1024);
}

TEST(RpcOptionsTest, AHugeLimitIsClampedNotWrappedNegative) {
  RpcOptions options;
  options.max_message_bytes = 8LL * 1024 * 1024 * 1024;
  options.keepalive_time_ms = 1LL << 40;
  grpc::ChannelArguments args = MakeChannelArguments(options);
  EXPECT_EQ(IntArg(args, GRPC_ARG_MAX_SEND_MESSAGE_LENGTH), INT_MAX);
  EXPECT_EQ(IntArg(args, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH), INT_MAX);
  EXPECT_EQ(IntArg(args, GRPC_ARG_KEEPALIVE_TIME_MS), INT_MAX);
}

TEST(RpcOptionsTest, ClientKeepaliveAndRetrySettings) {
  RpcOptions options;
  options.keepalive_time_ms = 1500;
  options.keepalive_timeout_ms = 700;
  grpc::ChannelArguments args = MakeChannelArguments(options);
  EXPECT_EQ(IntArg(args, GRPC_ARG_KEEPALIVE_TIME_MS), 1500);
  EXPECT_EQ(IntArg(args, GRPC_ARG_KEEPALIVE_TIMEOUT_MS), 700);
  EXPECT_EQ(IntArg(args, GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS), 1);
  EXPECT_EQ(IntArg(args, GRPC_ARG_ENABLE_RETRIES), 0) << "Orrery retries itself, with request ids";
}

TEST(RpcOptionsTest, TheServerToleratesTheClientsPingRate) {
  for (int64_t keepalive : {int64_t{1}, int64_t{2}, int64_t{999}, int64_t{30'000}, int64_t{1} << 40}) {
    SCOPED_TRACE(keepalive);
    RpcOptions options;
    options.keepalive_time_ms = keepalive;
    std::optional<int> client_ping = IntArg(MakeChannelArguments(options), GRPC_ARG_KEEPALIVE_TIME_MS);
    grpc::ChannelArguments server = ServerArguments(options);
    std::optional<int> server_min = IntArg(server, GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS);
    ASSERT_TRUE(client_ping.has_value());
    ASSERT_TRUE(server_min.has_value()) << "the server must set its ping policy explicitly";
    EXPECT_LE(*server_min, *client_ping) << "a client pinging at its keepalive rate would earn GOAWAY";
    EXPECT_EQ(IntArg(server, GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS), 1);
    EXPECT_EQ(IntArg(server, GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA), 0);
  }
}

TEST(RpcOptionsTest, TheServerGetsTheSameMessageLimitsAndNoPortSharing) {
  RpcOptions options;
  options.max_message_bytes = 4096;
  grpc::ChannelArguments server = ServerArguments(options);
  EXPECT_EQ(IntArg(server, GRPC_ARG_MAX_SEND_MESSAGE_LENGTH), 4096);
  EXPECT_EQ(IntArg(server, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH), 4096);
  EXPECT_EQ(IntArg(server, GRPC_ARG_ALLOW_REUSEPORT), 0);
}

}  // namespace
}  // namespace orrery::rpc
