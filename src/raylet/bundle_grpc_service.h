// BundleGrpcService: the thin gRPC adapter of BundleService (placement-group bundles, which
// the GCS reserves here in two phases). No logic lives here.
#pragma once

#include "orrery/placement_group.grpc.pb.h"
#include "src/raylet/node_manager.h"
#include "src/rpc/server_calls.h"

namespace orrery::raylet {

class BundleGrpcService final : public rpc::BundleService::CallbackService {
 public:
  BundleGrpcService(rpc::ServerCalls& calls, NodeManager& node_manager) : calls_(calls), node_manager_(node_manager) {}

  grpc::ServerUnaryReactor* PrepareBundles(grpc::CallbackServerContext* c, const rpc::PrepareBundlesRequest* q,
                                           rpc::PrepareBundlesReply* r) override;
  grpc::ServerUnaryReactor* CommitBundles(grpc::CallbackServerContext* c, const rpc::CommitBundlesRequest* q,
                                          rpc::CommitBundlesReply* r) override;
  grpc::ServerUnaryReactor* CancelBundles(grpc::CallbackServerContext* c, const rpc::CancelBundlesRequest* q,
                                          rpc::CancelBundlesReply* r) override;

 private:
  rpc::ServerCalls& calls_;
  NodeManager& node_manager_;
};

}  // namespace orrery::raylet
