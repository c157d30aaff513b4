// RayletClient: how other processes call a raylet's NodeManagerService. Each method picks the
// deadline and retry policy that suits it, so callers cannot get them wrong.
#pragma once

#include <memory>
#include <string>

#include "orrery/node_manager.grpc.pb.h"
#include "src/rpc/grpc_client.h"

namespace orrery::raylet {

template <typename Reply>
using Callback = rpc::RpcCallback<Reply>;

class RayletClient {
 public:
  virtual ~RayletClient() = default;

  // Retried under the same lease id until the budget ends: the raylet never grants twice.
  // The raylet holds the call up to request.wait_ms, then answers PENDING.
  virtual void RequestWorkerLease(const rpc::RequestWorkerLeaseRequest& request,
                                  Callback<rpc::RequestWorkerLeaseReply> callback) = 0;
  virtual void ReleaseLeasesOfHolder(const rpc::ReleaseLeasesOfHolderRequest& request,
                                     Callback<rpc::ReleaseLeasesOfHolderReply> callback) = 0;
  virtual void CancelWorkerLease(const rpc::CancelWorkerLeaseRequest& request,
                                 Callback<rpc::CancelWorkerLeaseReply> callback) = 0;
  virtual void ReturnWorker(const rpc::ReturnWorkerRequest& request, Callback<rpc::ReturnWorkerReply> callback) = 0;
  virtual void RegisterWorker(const rpc::RegisterWorkerRequest& request,
                              Callback<rpc::RegisterWorkerReply> callback) = 0;
  virtual void NotifyWorkerBlocked(const rpc::NotifyWorkerBlockedRequest& request,
                                   Callback<rpc::NotifyWorkerBlockedReply> callback) = 0;
  // One attempt, no retry: a missed health check is information.
  virtual void HealthCheck(int64_t timeout_ms, Callback<rpc::HealthCheckReply> callback) = 0;
  virtual void GetNodeStats(Callback<rpc::GetNodeStatsReply> callback) = 0;
};

class GrpcRayletClient final : public RayletClient {
 public:
  // `target` is HOST:PORT or unix:/path.
  GrpcRayletClient(const std::string& target, rpc::ClientOptions options);

  void RequestWorkerLease(const rpc::RequestWorkerLeaseRequest& request,
                          Callback<rpc::RequestWorkerLeaseReply> callback) override;
  void CancelWorkerLease(const rpc::CancelWorkerLeaseRequest& request,
                         Callback<rpc::CancelWorkerLeaseReply> callback) override;
  void ReleaseLeasesOfHolder(const rpc::ReleaseLeasesOfHolderRequest& request,
                             Callback<rpc::ReleaseLeasesOfHolderReply> callback) override;
  void ReturnWorker(const rpc::ReturnWorkerRequest& request, Callback<rpc::ReturnWorkerReply> callback) override;
  void RegisterWorker(const rpc::RegisterWorkerRequest& request, Callback<rpc::RegisterWorkerReply> callback) override;
  void NotifyWorkerBlocked(const rpc::NotifyWorkerBlockedRequest& request,
                           Callback<rpc::NotifyWorkerBlockedReply> callback) override;
  void HealthCheck(int64_t timeout_ms, Callback<rpc::HealthCheckReply> callback) override;
  void GetNodeStats(Callback<rpc::GetNodeStatsReply> callback) override;

  const rpc::GrpcClient<rpc::NodeManagerService>& client() const { return client_; }

 private:
  rpc::GrpcClient<rpc::NodeManagerService> client_;
};

}  // namespace orrery::raylet
