#include "src/raylet/bundle_grpc_service.h"

namespace orrery::raylet {

// Every step is idempotent in the bundle manager, so no method needs the replay cache.

grpc::ServerUnaryReactor* BundleGrpcService::PrepareBundles(grpc::CallbackServerContext* c,
                                                            const rpc::PrepareBundlesRequest* q,
                                                            rpc::PrepareBundlesReply* r) {
  return calls_.Unary(c, q, r, [this](const rpc::PrepareBundlesRequest& request, rpc::PrepareBundlesReply* reply,
                                      rpc::ReplyCallback done) {
    auto prepared = node_manager_.PrepareBundles(request);
    if (prepared.ok()) *reply = std::move(*prepared);
    done(prepared.status());
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
  return calls_.Unary(c, q, r, [this](const rpc::CancelBundlesRequest& request, rpc::CancelBundlesReply* reply,
                                      rpc::ReplyCallback done) {
    *reply = node_manager_.CancelBundles(request);
    done(absl::OkStatus());
  });
}

}  // namespace orrery::raylet
