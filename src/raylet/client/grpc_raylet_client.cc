#include "src/raylet/client/raylet_client.h"

namespace orrery::raylet {

namespace {
using Stub = rpc::NodeManagerService::Stub;

rpc::CallOptions Retried() {
  rpc::CallOptions options;
  options.retry = true;
  return options;
}
}  // namespace

GrpcRayletClient::GrpcRayletClient(const std::string& target, rpc::ClientOptions options)
    : client_(rpc::MakeChannel(target, options.rpc), options) {}

void GrpcRayletClient::RequestWorkerLease(const rpc::RequestWorkerLeaseRequest& request,
                                          Callback<rpc::RequestWorkerLeaseReply> callback) {
  rpc::CallOptions options = Retried();
  // The raylet answers by wait_ms; the deadline leaves it room to.
  options.timeout_ms = request.wait_ms() + client_.options().rpc.default_deadline_ms;
  client_.Call(&Stub::async::RequestWorkerLease, request, options, std::move(callback));
}

void GrpcRayletClient::CancelWorkerLease(const rpc::CancelWorkerLeaseRequest& request,
                                         Callback<rpc::CancelWorkerLeaseReply> callback) {
  client_.Call(&Stub::async::CancelWorkerLease, request, Retried(), std::move(callback));
}

void GrpcRayletClient::ReturnWorker(const rpc::ReturnWorkerRequest& request,
                                    Callback<rpc::ReturnWorkerReply> callback) {
  client_.Call(&Stub::async::ReturnWorker, request, Retried(), std::move(callback));
}

void GrpcRayletClient::RegisterWorker(const rpc::RegisterWorkerRequest& request,
                                      Callback<rpc::RegisterWorkerReply> callback) {
  client_.Call(&Stub::async::RegisterWorker, request, Retried(), std::move(callback));
}

void GrpcRayletClient::NotifyWorkerBlocked(const rpc::NotifyWorkerBlockedRequest& request,
                                           Callback<rpc::NotifyWorkerBlockedReply> callback) {
  client_.Call(&Stub::async::NotifyWorkerBlocked, request, Retried(), std::move(callback));
}

void GrpcRayletClient::HealthCheck(int64_t timeout_ms, Callback<rpc::HealthCheckReply> callback) {
  rpc::CallOptions options;
  options.timeout_ms = timeout_ms;
  client_.Call(&Stub::async::HealthCheck, rpc::HealthCheckRequest(), options, std::move(callback));
}

void GrpcRayletClient::GetNodeStats(Callback<rpc::GetNodeStatsReply> callback) {
  client_.Call(&Stub::async::GetNodeStats, rpc::GetNodeStatsRequest(), Retried(), std::move(callback));
}

}  // namespace orrery::raylet
