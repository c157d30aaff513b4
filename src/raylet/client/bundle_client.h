// BundleClient: how the GCS reserves placement-group bundles on a raylet (BundleService).
// Every call is idempotent on the raylet, so every call is retried within the budget.
#pragma once

#include <memory>
#include <string>

#include "orrery/placement_group.grpc.pb.h"
#include "src/rpc/grpc_client.h"

namespace orrery::raylet {

class BundleClient {
 public:
  virtual ~BundleClient() = default;
  virtual void PrepareBundles(const rpc::PrepareBundlesRequest& request,
                              rpc::RpcCallback<rpc::PrepareBundlesReply> callback) = 0;
  virtual void CommitBundles(const rpc::CommitBundlesRequest& request,
                             rpc::RpcCallback<rpc::CommitBundlesReply> callback) = 0;
  virtual void CancelBundles(const rpc::CancelBundlesRequest& request,
                             rpc::RpcCallback<rpc::CancelBundlesReply> callback) = 0;
};

class GrpcBundleClient final : public BundleClient {
 public:
  // `target` is HOST:PORT, the raylet's NodeManagerService port (which serves both).
  GrpcBundleClient(const std::string& target, rpc::ClientOptions options);

  void PrepareBundles(const rpc::PrepareBundlesRequest& request,
                      rpc::RpcCallback<rpc::PrepareBundlesReply> callback) override;
  void CommitBundles(const rpc::CommitBundlesRequest& request,
                     rpc::RpcCallback<rpc::CommitBundlesReply> callback) override;
  void CancelBundles(const rpc::CancelBundlesRequest& request,
                     rpc::RpcCallback<rpc::CancelBundlesReply> callback) override;

 private:
  rpc::GrpcClient<rpc::BundleService> client_;
};

}  // namespace orrery::raylet
