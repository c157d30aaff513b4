// GrpcClient<Service>: the one client base every Orrery client is built on. Every call gets
// the cluster token, a deadline, a size check against the message limit, and, when the caller
// says it is safe, retries with exponential back-off under one request id (the server's
// ReplayCache answers a repeat instead of applying it twice).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/alarm.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "absl/container/flat_hash_set.h"
#include "src/rpc/fault_injection.h"
#include "src/rpc/in_flight.h"
#include "src/rpc/rpc_metrics.h"
#include "src/rpc/rpc_options.h"
#include "src/rpc/status_conversion.h"

namespace orrery::rpc {

struct ClientOptions {
  // Names the far side in errors: "GCS at 127.0.0.1:6391".
  std::string peer_name;
  std::string token;
  RpcOptions rpc;
  // Where completions run. Unset: on the gRPC thread that completed the call. Components set
  // it to post onto their event loop (EventLoop::Dispatcher()).
  std::function<void(std::function<void()>)> dispatcher;
};

struct CallOptions {
  // Per attempt. 0: ClientOptions.rpc.default_deadline_ms.
  int64_t timeout_ms = 0;
  // Retry UNAVAILABLE and DEADLINE_EXCEEDED with back-off, within the retry budget. Only for
  // calls that are idempotent or deduplicated by request id on the server.
  bool retry = false;
  // Total time for all attempts. 0: ClientOptions.rpc.retry_budget_ms.
  int64_t retry_budget_ms = 0;
  // Wait for the connection (within the deadline) rather than fail at once while it cannot be
  // made: for a peer known to be up, such as a worker that just registered.
  bool wait_for_ready = false;
};

template <typename Reply>
using RpcCallback = std::function<void(absl::StatusOr<Reply>)>;

// A channel with Orrery's arguments. `target` is HOST:PORT or unix:/path. With options.tls, a
// HOST:PORT channel is mutual TLS (the cluster CA as root, this process's certificate as its
// identity); without, it opens each connection with `token` for the port's token gate
// (token_gate.h). A Unix socket stays plain, authenticated by peer credentials instead.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, const RpcOptions& options,
                                           absl::string_view token);
// The same for a client's options: their RpcOptions and token.
inline std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, const ClientOptions& options) {
  return MakeChannel(target, options.rpc, options.token);
}

namespace internal {
// unix:/path and unix-abstract:name targets: never TLS.
bool IsUnixTarget(absl::string_view target);
// The delay before retry number `attempt` (1-based), with +-20% jitter.
int64_t BackoffMs(const RpcOptions& options, int attempt);
std::string NewRequestId();
int64_t SteadyNowMs();
bool IsRetryable(const absl::Status& status);
absl::Status TooLargeError(size_t size, int64_t limit, const std::string& peer);
}  // namespace internal

template <typename Service>
class GrpcClient {
 public:
  using Stub = typename Service::Stub;

  GrpcClient(std::shared_ptr<grpc::Channel> channel, ClientOptions options)
      : core_(std::make_unique<Core>(channel, std::move(options))) {}

  // Cancels the calls still in flight and waits until gRPC has let go of each of them, so
  // that the channel is released here and never on a gRPC thread (see in_flight.h).
  ~GrpcClient() {
    core_->CancelAll();
    core_->in_flight.WaitForNone();
  }

  GrpcClient(const GrpcClient&) = delete;
  GrpcClient& operator=(const GrpcClient&) = delete;

  // `class`: the Stub has a member function async() too, which clang's lookup would find.
  using AsyncApi = class Stub::async;

  template <typename Req, typename Reply>
  using AsyncMethod = void (AsyncApi::*)(grpc::ClientContext*, const Req*, Reply*, std::function<void(grpc::Status)>);

  // Calls `method` asynchronously; `callback` runs once, where ClientOptions.dispatcher says.
  template <typename Req, typename Reply>
  void Call(AsyncMethod<Req, Reply> method, const Req& request, const CallOptions& options,
            std::type_identity_t<RpcCallback<Reply>> callback) const {
    StartCall(method, request, options, std::move(callback), /*use_dispatcher=*/true);
  }

  // Blocks the calling thread until the call (with its retries) completes. Never call it from
  // the thread of the dispatcher's loop.
  template <typename Req, typename Reply>
  absl::StatusOr<Reply> CallSync(AsyncMethod<Req, Reply> method, const Req& request,
                                 const CallOptions& options = {}) const {
    struct Result {
      absl::Mutex mu;
      bool done = false;
      absl::StatusOr<Reply> value = absl::UnknownError("not completed");
    };
    auto result = std::make_shared<Result>();
    StartCall(method, request, options,
              [result](absl::StatusOr<Reply> reply) {
                absl::MutexLock lock(&result->mu);
                result->value = std::move(reply);
                result->done = true;
              },
              /*use_dispatcher=*/false);
    absl::MutexLock lock(&result->mu);
    result->mu.Await(absl::Condition(&result->done));
    return std::move(result->value);
  }

  // Fills a context as Call does; for streaming calls made on the stub directly.
  void PrepareContext(grpc::ClientContext* context, int64_t timeout_ms) const {
    if (!core_->options.token.empty()) context->AddMetadata(kTokenMetadataKey, core_->options.token);
    if (timeout_ms > 0) {
      context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
    }
  }

  Stub* stub() const { return core_->stub.get(); }
  const std::shared_ptr<grpc::Channel>& channel() const { return core_->channel; }
  const ClientOptions& options() const { return core_->options; }

 private:
  struct CallBase {
    virtual ~CallBase() = default;
    virtual void Cancel() = 0;
  };

  // Outlives every call: the destructor waits for them.
  struct Core {
    Core(std::shared_ptr<grpc::Channel> c, ClientOptions o)
        : channel(std::move(c)), stub(Service::NewStub(channel)), options(std::move(o)) {}

    void Register(CallBase* call) {
      absl::MutexLock lock(&mu);
      if (cancelled) call->Cancel();
      calls.insert(call);
    }
    void Unregister(CallBase* call) {
      absl::MutexLock lock(&mu);
      calls.erase(call);
    }
    void CancelAll() {
      absl::MutexLock lock(&mu);
      cancelled = true;
      for (CallBase* call : calls) call->Cancel();
    }

    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<Stub> stub;
    ClientOptions options;
    InFlight in_flight;
    absl::Mutex mu;
    absl::flat_hash_set<CallBase*> calls ABSL_GUARDED_BY(mu);
    bool cancelled ABSL_GUARDED_BY(mu) = false;
  };

  template <typename Req, typename Reply>
  struct CallState final : CallBase {
    // First member, so released last: after the context below, which holds a channel ref.
    InFlight::Token token;
    Core* core;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    AsyncMethod<Req, Reply> method;
    Req request;
    RpcCallback<Reply> callback;
    bool use_dispatcher;
    int64_t timeout_ms;
    bool retry;
    bool wait_for_ready;
    int64_t give_up_at_ms;
    std::string request_id;
    int attempt = 0;
    std::unique_ptr<grpc::ClientContext> context;
    Reply reply;
    // A fresh alarm per back-off; replaced (never while firing) by the next one.
    std::unique_ptr<grpc::Alarm> alarm;
    absl::Mutex mu;  // guards context, alarm and cancelled against Cancel() from another thread
    // Set by Cancel(): a cancel that lands between two attempts stops the next one too.
    bool cancelled = false;

    ~CallState() override { core->Unregister(this); }
    void Cancel() override {
      absl::MutexLock lock(&mu);
      cancelled = true;
      if (context) context->TryCancel();
      if (alarm) alarm->Cancel();
    }
  };

  template <typename Req, typename Reply>
  void StartCall(AsyncMethod<Req, Reply> method, const Req& request, const CallOptions& options,
                 std::type_identity_t<RpcCallback<Reply>> callback, bool use_dispatcher) const {
    const RpcOptions& rpc = core_->options.rpc;
    auto state = std::make_shared<CallState<Req, Reply>>();
    state->token = core_->in_flight.Acquire();
    state->core = core_.get();
    core_->Register(state.get());
    state->method = method;
    state->callback = std::move(callback);
    state->use_dispatcher = use_dispatcher;
    state->timeout_ms = options.timeout_ms > 0 ? options.timeout_ms : rpc.default_deadline_ms;
    state->retry = options.retry;
    state->wait_for_ready = options.wait_for_ready;
    state->give_up_at_ms =
        internal::SteadyNowMs() + (options.retry_budget_ms > 0 ? options.retry_budget_ms : rpc.retry_budget_ms);
    size_t size = request.ByteSizeLong();
    if (static_cast<int64_t>(size) > rpc.max_message_bytes) {
      Deliver(state, internal::TooLargeError(size, rpc.max_message_bytes, core_->options.peer_name));
      return;
    }
    state->request = request;
    if (options.retry) state->request_id = internal::NewRequestId();
    Attempt(state);
  }

  template <typename Req, typename Reply>
  static void Attempt(const std::shared_ptr<CallState<Req, Reply>>& state) {
    ++state->attempt;
    grpc::ClientContext* context = nullptr;
    {
      absl::MutexLock lock(&state->mu);
      if (!state->cancelled) {
        state->context = std::make_unique<grpc::ClientContext>();
        context = state->context.get();
      }
    }
    if (context == nullptr) {
      Deliver(state, absl::CancelledError("call cancelled"));
      return;
    }
    if (!state->core->options.token.empty()) context->AddMetadata(kTokenMetadataKey, state->core->options.token);
    if (!state->request_id.empty()) context->AddMetadata(kRequestIdMetadataKey, state->request_id);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(state->timeout_ms));
    if (state->wait_for_ready) context->set_wait_for_ready(true);
    state->reply.Clear();
    InjectedFault fault;
    if (FaultInjector* faults = FaultInjector::FromEnvironment(); faults != nullptr) {
      fault = faults->Decide(MethodName(Service::service_full_name(), Req::descriptor()->name()));
    }
    if (fault.delay_ms == 0 && fault.kind != InjectedFault::kDropRequest) return Send(state, context, fault.kind);
    // Later, through an alarm: a dropped request fails as a lost connection would, never inside
    // the caller's own call.
    After(state, fault.delay_ms, [state, context, kind = fault.kind] {
      if (kind != InjectedFault::kDropRequest) return Send(state, context, kind);
      Completed(state, kind,
                grpc::Status(grpc::StatusCode::UNAVAILABLE,
                             "injected failure: the request was dropped before it was sent (ORRERY_TESTING_RPC_FAILURE)"));
    });
  }

  template <typename Req, typename Reply>
  static void Send(const std::shared_ptr<CallState<Req, Reply>>& state, grpc::ClientContext* context,
                   InjectedFault::Kind fault) {
    auto* async = state->core->stub->async();
    (async->*(state->method))(context, &state->request, &state->reply,
                              [state, fault](grpc::Status grpc_status) { Completed(state, fault, grpc_status); });
  }

  template <typename Req, typename Reply>
  static void Completed(const std::shared_ptr<CallState<Req, Reply>>& state, InjectedFault::Kind fault,
                        grpc::Status grpc_status) {
    if (fault == InjectedFault::kDropReply && grpc_status.ok()) {
      grpc_status = grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          "injected failure: the reply was dropped after the server applied the call (ORRERY_TESTING_RPC_FAILURE)");
    }
    const ClientOptions& options = state->core->options;
    absl::Status status = FromGrpcStatus(grpc_status, options.peer_name, options.rpc.max_message_bytes);
    int64_t delay = internal::BackoffMs(options.rpc, state->attempt);
    if (state->retry && internal::IsRetryable(status) && internal::SteadyNowMs() + delay < state->give_up_at_ms) {
      After(state, delay, [state] { Attempt(state); });
      return;
    }
    if (status.ok()) {
      Deliver(state, std::move(state->reply));
    } else {
      Deliver(state, status);
    }
  }

  // Runs `next` after `delay_ms` on a fresh alarm, unless the call is cancelled first (then it
  // is delivered as cancelled).
  template <typename Req, typename Reply>
  static void After(const std::shared_ptr<CallState<Req, Reply>>& state, int64_t delay_ms, std::function<void()> next) {
    absl::ReleasableMutexLock lock(&state->mu);
    if (state->cancelled) {
      lock.Release();
      Deliver(state, absl::CancelledError("call cancelled during retry back-off"));
      return;
    }
    state->alarm = std::make_unique<grpc::Alarm>();
    // The alarm keeps its callback after firing; moving `state` and `next` out of the capture
    // breaks the state -> alarm -> callback -> state cycle.
    state->alarm->Set(std::chrono::system_clock::now() + std::chrono::milliseconds(delay_ms),
                      [pending = state, next = std::move(next)](bool ok) mutable {
                        auto waited = std::move(pending);
                        auto run = std::move(next);
                        if (ok) {
                          run();
                        } else {
                          Deliver(waited, absl::CancelledError("call cancelled during retry back-off"));
                        }
                      });
  }

  template <typename Req, typename Reply>
  static void Deliver(const std::shared_ptr<CallState<Req, Reply>>& state,
                      std::type_identity_t<absl::StatusOr<Reply>> result) {
    if (RpcMetricsEnabled()) {
      static const std::string service(Service::service_full_name());
      RecordMadeRpc(service, MethodOf<Req>(), result.status().code(), SecondsSince(state->started));
    }
    auto callback = std::move(state->callback);
    const auto& dispatcher = state->core->options.dispatcher;
    if (state->use_dispatcher && dispatcher) {
      dispatcher([callback = std::move(callback), result = std::move(result)]() mutable {
        callback(std::move(result));
      });
    } else {
      callback(std::move(result));
    }
  }

  std::unique_ptr<Core> core_;
};

}  // namespace orrery::rpc
