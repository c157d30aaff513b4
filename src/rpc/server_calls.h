// ServerCalls: what every Orrery gRPC adapter does with a unary call before and after the
// logic sees it. Each service's adapter (<svc>_grpc_service.cc) routes every method through
// Unary(), and so every service gets the same behaviour:
//   - the cluster token is checked first (UNAUTHENTICATED otherwise; the server serves on);
//   - the handler runs on the component's event loop (the executor given here), never on a
//     gRPC thread, with a request and reply it owns for as long as it needs them;
//   - deduplicated methods answer a retried request id from the ReplayCache;
//   - Stop() finishes every call still open, so Server::Shutdown never waits on a handler;
//   - each call's end is counted, with its latency, in the process's RPC metrics (rpc_metrics.h).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "src/rpc/auth.h"
#include "src/rpc/replay_cache.h"
#include "src/rpc/rpc_metrics.h"
#include "src/rpc/status_conversion.h"

namespace orrery::rpc {

// Handlers answer through this, exactly once, from any thread.
using ReplyCallback = std::function<void(absl::Status)>;

// Whether a retried request may be applied again. Reads and naturally idempotent writes
// (registering the same node twice) are kIdempotent; a method whose second application differs
// (handing out the next job id) is kDeduplicated.
enum class CallKind { kIdempotent, kDeduplicated };

class ServerCalls {
 public:
  using Dispatcher = std::function<void(std::function<void()>)>;

  // `dispatcher` posts work onto the component's event loop.
  ServerCalls(std::string service_name, std::string token, Dispatcher dispatcher);

  template <typename Req, typename Reply, typename Handler>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context, const Req* request, Reply* reply,
                                  Handler&& handler, CallKind kind = CallKind::kIdempotent);

  // Checks the token of a call that is not unary (a stream); the adapter fails it if not OK.
  absl::Status Authenticate(const grpc::ServerContextBase& context) const { return auth_.Check(context); }

  // Finishes every open call with UNAVAILABLE ("<service> is shutting down"); replies that
  // arrive later are dropped. New calls are refused from then on.
  void Stop();

  const std::string& service_name() const { return service_name_; }
  const Dispatcher& dispatcher() const { return dispatcher_; }
  size_t open_calls() const;

 private:
  class CallBase {
   public:
    virtual ~CallBase() = default;
    // Finishes the call with `status` unless it already finished; true if this call did it.
    virtual bool Finish(const absl::Status& status) = 0;
  };

  template <typename Req, typename Reply>
  class Call;

  // Registers an open call; false (and the call finished UNAVAILABLE) once stopped.
  bool Track(const std::shared_ptr<CallBase>& call);
  void Untrack(const CallBase* call);
  static std::string RequestId(const grpc::ServerContextBase& context);

  const std::string service_name_;
  const TokenAuthenticator auth_;
  const Dispatcher dispatcher_;
  ReplayCache replay_;
  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<const CallBase*, std::shared_ptr<CallBase>> open_ ABSL_GUARDED_BY(mu_);
};

// One unary call in flight. The request is swapped out of gRPC's message (O(1)) so that the
// handler may keep reading it after Stop() finished the call; the reply is swapped in at the end.
template <typename Req, typename Reply>
class ServerCalls::Call final : public ServerCalls::CallBase {
 public:
  Call(ServerCalls* owner, grpc::ServerUnaryReactor* reactor, Reply* grpc_reply)
      : owner_(owner), reactor_(reactor), grpc_reply_(grpc_reply) {}

  bool Finish(const absl::Status& status) override {
    if (finished_.exchange(true)) return false;
    if (status.ok()) grpc_reply_->Swap(&reply_);
    reactor_->Finish(ToGrpcStatus(status));
    return true;
  }

  Req request_;
  Reply reply_;

 private:
  friend class ServerCalls;
  ServerCalls* owner_;
  grpc::ServerUnaryReactor* reactor_;
  Reply* grpc_reply_;
  std::atomic<bool> finished_{false};
};

template <typename Req, typename Reply, typename Handler>
grpc::ServerUnaryReactor* ServerCalls::Unary(grpc::CallbackServerContext* context, const Req* request, Reply* reply,
                                             Handler&& handler, CallKind kind) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const auto received = std::chrono::steady_clock::now();
  if (absl::Status auth = auth_.Check(*context); !auth.ok()) {
    RecordServedRpc(MethodOf<Req>(), auth.code(), SecondsSince(received));
    reactor->Finish(ToGrpcStatus(auth));
    return reactor;
  }
  auto call = std::make_shared<Call<Req, Reply>>(this, reactor, reply);
  call->request_.Swap(const_cast<Req*>(request));
  if (!Track(call)) return reactor;
  std::string request_id = kind == CallKind::kDeduplicated ? RequestId(*context) : std::string();

  // `done` keeps the call alive until the handler answers, whatever happened meanwhile.
  auto done = [this, call, received](const absl::Status& status) {
    if (!call->Finish(status)) return;
    Untrack(call.get());
    RecordServedRpc(MethodOf<Req>(), status.code(), SecondsSince(received));
  };

  dispatcher_([this, call, done, request_id, h = std::forward<Handler>(handler)]() mutable {
    if (request_id.empty()) {
      h(call->request_, &call->reply_, done);
      return;
    }
    std::string key = service_name_ + "/" + Req::descriptor()->full_name() + "/" + request_id;
    bool first = replay_.Begin(key, [call, done](const ReplayCache::Outcome& outcome) {
      if (outcome.status.ok()) call->reply_.ParseFromString(outcome.reply_bytes);
      done(outcome.status);
    });
    if (!first) return;
    h(call->request_, &call->reply_, [this, call, done, key](const absl::Status& status) {
      ReplayCache::Outcome outcome{status, status.ok() ? call->reply_.SerializeAsString() : std::string()};
      replay_.Complete(key, outcome);
      done(status);
    });
  });
  return reactor;
}

}  // namespace orrery::rpc
