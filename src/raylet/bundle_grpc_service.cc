#include "src/raylet/bundle_grpc_service.h"

namespace orrery::raylet {

// Every step is idempotent in the bundle manager, so no method needs the replay cache.

grpc::ServerUnaryReactor* BundleGrpcService::PrepareBundles(grpc::CallbackServerContext* c,
                                                            const rpc::PrepareBundlesRequest* q,
                                                            rpc::PrepareBundlesReply* r) {
  return calls_.Unary(c, q, r, [this](const rpc::PrepareBundlesRequest& request, rpc::PrepareBundlesReply* reply,
                                      rpc::ReplyCallback done) {
    absl::Status status = node_manager_.PrepareBundles(request);
    // No room is an answer, not a failed call: the GCS rolls back and tries elsewhere.
    if (absl::IsResourceExhausted(status)) {
      reply->set_reason(std::string(status.message()));
      return done(absl::OkStatus());
    }
    reply->set_success(status.ok());
    done(status);
  });
}

grpc::ServerUnaryReactor* BundleGrpcService::CommitBundles(grpc::CallbackServerContext* c,
                                                           const rpc::CommitBundlesRequest* q,
                                                           rpc::CommitBundlesReply* r) {
  return calls_.Unary(c, q, r, [this](const rpc::CommitBundlesRequest& request, rpc::CommitBundlesReply*,
                                      rpc::ReplyCallback done) { done(node_manager_.CommitBundles(request)); });
}

grpc::ServerUnaryReactor* BundleGrpcService::CancelBundles(grpc::CallbackServerContext* c,
                                                           const rpc::CancelBundlesRequest* q,
                                                           rpc::CancelBundlesReply* r) {
  return calls_.Unary(c, q, r, [this](const rpc::CancelBundlesRequest& request, rpc::CancelBundlesReply*,
                                      rpc::ReplyCallback done) {
    node_manager_.CancelBundles(request);
    done(absl::OkStatus());
  });
}

}  // namespace orrery::raylet
