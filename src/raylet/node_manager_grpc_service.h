// NodeManagerGrpcService: the thin gRPC adapter of NodeManagerService. No logic lives here.
#pragma once

#include "orrery/node_manager.grpc.pb.h"
#include "src/metrics/user_metrics_table.h"
#include "src/raylet/node_manager_handler.h"
#include "src/raylet/object_server.h"
#include "src/rpc/server_calls.h"

namespace orrery::raylet {

class NodeManagerGrpcService final : public rpc::NodeManagerService::CallbackService {
 public:
  NodeManagerGrpcService(rpc::ServerCalls& calls, NodeManagerHandler& handler, ObjectServer& objects,
                         metrics::UserMetricsTable& user_metrics)
      : calls_(calls), handler_(handler), objects_(objects), user_metrics_(user_metrics) {}

  grpc::ServerUnaryReactor* RequestWorkerLease(grpc::CallbackServerContext* c, const rpc::RequestWorkerLeaseRequest* q,
                                               rpc::RequestWorkerLeaseReply* r) override;
  grpc::ServerUnaryReactor* ReleaseLeasesOfHolder(grpc::CallbackServerContext* c,
                                                  const rpc::ReleaseLeasesOfHolderRequest* q,
                                                  rpc::ReleaseLeasesOfHolderReply* r) override;
  grpc::ServerUnaryReactor* CancelWorkerLease(grpc::CallbackServerContext* c, const rpc::CancelWorkerLeaseRequest* q,
                                              rpc::CancelWorkerLeaseReply* r) override;
  grpc::ServerUnaryReactor* ReturnWorker(grpc::CallbackServerContext* c, const rpc::ReturnWorkerRequest* q,
                                         rpc::ReturnWorkerReply* r) override;
  grpc::ServerUnaryReactor* RegisterWorker(grpc::CallbackServerContext* c, const rpc::RegisterWorkerRequest* q,
                                           rpc::RegisterWorkerReply* r) override;
  grpc::ServerUnaryReactor* NotifyWorkerBlocked(grpc::CallbackServerContext* c,
                                                const rpc::NotifyWorkerBlockedRequest* q,
                                                rpc::NotifyWorkerBlockedReply* r) override;
  grpc::ServerUnaryReactor* HealthCheck(grpc::CallbackServerContext* c, const rpc::HealthCheckRequest* q,
                                        rpc::HealthCheckReply* r) override;
  grpc::ServerUnaryReactor* GetNodeStats(grpc::CallbackServerContext* c, const rpc::GetNodeStatsRequest* q,
                                         rpc::GetNodeStatsReply* r) override;
  grpc::ServerUnaryReactor* FreeObjects(grpc::CallbackServerContext* c, const rpc::FreeObjectsRequest* q,
                                        rpc::FreeObjectsReply* r) override;
  grpc::ServerUnaryReactor* ReportMetrics(grpc::CallbackServerContext* c, const rpc::ReportMetricsRequest* q,
                                          rpc::ReportMetricsReply* r) override;

 private:
  rpc::ServerCalls& calls_;
  NodeManagerHandler& handler_;
  ObjectServer& objects_;
  metrics::UserMetricsTable& user_metrics_;
};

}  // namespace orrery::raylet
