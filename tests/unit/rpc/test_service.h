// A real in-process gRPC server for the rpc tests: a NodeManagerService adapter whose handlers the
// test writes, routed through ServerCalls on an EventLoop and served by GrpcServer on loopback, the
// way every Orrery service is served.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "orrery/node_manager.grpc.pb.h"
#include "src/common/event_loop.h"
#include "src/rpc/grpc_client.h"
#include "src/rpc/grpc_server.h"
#include "src/rpc/server_calls.h"

namespace orrery::rpc::test {

inline constexpr char kTestToken[] = "test-token";

// What each handler does until the test says otherwise.
inline constexpr auto kAnswerOk = [](const auto&, auto*, ReplyCallback done) { done(absl::OkStatus()); };

template <typename Req, typename Reply>
using TestHandler = std::function<void(const Req&, Reply*, ReplyCallback)>;

// Handlers run on the server's event loop. Each answers OK until the test replaces it (before
// Start). RegisterWorker is the deduplicated method; the others are idempotent.
class TestNodeManagerService final : public NodeManagerService::CallbackService {
 public:
  explicit TestNodeManagerService(ServerCalls& calls) : calls_(calls) {}

  TestHandler<RegisterWorkerRequest, RegisterWorkerReply> register_worker = kAnswerOk;
  TestHandler<HealthCheckRequest, HealthCheckReply> health_check = kAnswerOk;
  TestHandler<ReturnWorkerRequest, ReturnWorkerReply> return_worker = kAnswerOk;
  // Calls gRPC handed to the adapter, whatever became of them there (a token refused by
  // ServerCalls counts): a call refused inside gRPC never gets here.
  std::atomic<int> calls_received{0};

  grpc::ServerUnaryReactor* RegisterWorker(grpc::CallbackServerContext* c, const RegisterWorkerRequest* q,
                                           RegisterWorkerReply* r) override {
    ++calls_received;
    return calls_.Unary(c, q, r, register_worker, CallKind::kDeduplicated);
  }
  grpc::ServerUnaryReactor* HealthCheck(grpc::CallbackServerContext* c, const HealthCheckRequest* q,
                                        HealthCheckReply* r) override {
    ++calls_received;
    return calls_.Unary(c, q, r, health_check);
  }
  grpc::ServerUnaryReactor* ReturnWorker(grpc::CallbackServerContext* c, const ReturnWorkerRequest* q,
                                         ReturnWorkerReply* r) override {
    ++calls_received;
    return calls_.Unary(c, q, r, return_worker);
  }

 private:
  ServerCalls& calls_;
};

using TestClient = GrpcClient<NodeManagerService>;

// The loop, ServerCalls, adapter and GrpcServer, stopped in the order a daemon stops them.
class TestServer {
 public:
  explicit TestServer(ServerOptions options = DefaultOptions())
      : options_(std::move(options)),
        loop_(EventLoop::Create("test-server")),
        calls_("test service", kTestToken, loop_->Dispatcher()),
        service_(calls_) {}
  ~TestServer() { Stop(); }

  static ServerOptions DefaultOptions() {
    ServerOptions options;
    options.name = "test server";
    options.host = "127.0.0.1";
    // As a daemon's: plain TCP connections pass its token gate (token_gate.h) first.
    options.token = kTestToken;
    return options;
  }

  TestNodeManagerService& service() { return service_; }
  ServerCalls& calls() { return calls_; }

  // Set the service's handlers first.
  absl::Status Start() {
    loop_->StartThread();
    server_ = std::make_unique<GrpcServer>(options_);
    server_->AddService(&service_);
    return server_->Start();
  }

  // Finishes open calls, shuts the server down (waiting up to `grace_ms` for calls in flight),
  // then stops the loop. Safe to call twice.
  void Stop(int64_t grace_ms = 1000) {
    calls_.Stop();
    if (server_ != nullptr) server_->Shutdown(grace_ms);
    loop_->Stop();
  }

  int port() const { return server_->port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }

  std::unique_ptr<TestClient> Client(const std::string& token = kTestToken, RpcOptions rpc = {}) const {
    return MakeClient(address(), token, rpc);
  }

  static std::unique_ptr<TestClient> MakeClient(const std::string& target, const std::string& token,
                                                RpcOptions rpc = {}) {
    ClientOptions options;
    options.peer_name = "test server at " + target;
    options.token = token;
    options.rpc = rpc;
    return std::make_unique<TestClient>(MakeChannel(target, rpc, token), options);
  }

 private:
  ServerOptions options_;
  std::shared_ptr<EventLoop> loop_;
  ServerCalls calls_;
  TestNodeManagerService service_;
  std::unique_ptr<GrpcServer> server_;
};

}  // namespace orrery::rpc::test
