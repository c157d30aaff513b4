// What the raylet's logic implements for NodeManagerService; the gRPC adapter
// (node_manager_grpc_service.h) calls it on the raylet event loop.
#pragma once

#include "orrery/node_manager.pb.h"
#include "src/rpc/server_calls.h"

namespace orrery::raylet {

using rpc::ReplyCallback;

class NodeManagerHandler {
 public:
  virtual ~NodeManagerHandler() = default;
  virtual void HandleRequestWorkerLease(const rpc::RequestWorkerLeaseRequest& request,
                                        rpc::RequestWorkerLeaseReply* reply, ReplyCallback done) = 0;
  virtual void HandleCancelWorkerLease(const rpc::CancelWorkerLeaseRequest& request,
                                       rpc::CancelWorkerLeaseReply* reply, ReplyCallback done) = 0;
  virtual void HandleReturnWorker(const rpc::ReturnWorkerRequest& request, rpc::ReturnWorkerReply* reply,
                                  ReplyCallback done) = 0;
  virtual void HandleReleaseLeasesOfHolder(const rpc::ReleaseLeasesOfHolderRequest& request,
                                           rpc::ReleaseLeasesOfHolderReply* reply, ReplyCallback done) = 0;
  virtual void HandleRegisterWorker(const rpc::RegisterWorkerRequest& request, rpc::RegisterWorkerReply* reply,
                                    ReplyCallback done) = 0;
  virtual void HandleNotifyWorkerBlocked(const rpc::NotifyWorkerBlockedRequest& request,
                                         rpc::NotifyWorkerBlockedReply* reply, ReplyCallback done) = 0;
  virtual void HandleHealthCheck(const rpc::HealthCheckRequest& request, rpc::HealthCheckReply* reply,
                                 ReplyCallback done) = 0;
  virtual void HandleGetNodeStats(const rpc::GetNodeStatsRequest& request, rpc::GetNodeStatsReply* reply,
                                  ReplyCallback done) = 0;
};

}  // namespace orrery::raylet
