#include "src/raylet/client/raylet_client.h"
#include "src/rpc/retried_call.h"

namespace orrery::raylet {

namespace {
using Stub = rpc::NodeManagerService::Stub;
}  // namespace

GrpcRayletClient::GrpcRayletClient(const std::string& target, rpc::ClientOptions options)
    : client_(rpc::MakeChannel(target, options), options) {}

void GrpcRayletClient::RequestWorkerLease(const rpc::RequestWorkerLeaseRequest& request,
                                          Callback<rpc::RequestWorkerLeaseReply> callback) {
  rpc::CallOptions options = rpc::RetriedCall();
  // The raylet answers by wait_ms; the deadline leaves it room to.
  options.timeout_ms = request.wait_ms() + client_.options().rpc.default_deadline_ms;
  client_.Call(&Stub::async::RequestWorkerLease, request, options, std::move(callback));
}

void GrpcRayletClient::ReleaseLeasesOfHolder(const rpc::ReleaseLeasesOfHolderRequest& request,
                                             Callback<rpc::ReleaseLeasesOfHolderReply> callback) {
  client_.Call(&Stub::async::ReleaseLeasesOfHolder, request, rpc::RetriedCall(), std::move(callback));
}
void GrpcRayletClient::CancelWorkerLease(const rpc::CancelWorkerLeaseRequest& request,
                                         Callback<rpc::CancelWorkerLeaseReply> callback) {
  client_.Call(&Stub::async::CancelWorkerLease, request, rpc::RetriedCall(), std::move(callback));
}

void GrpcRayletClient::ReturnWorker(const rpc::ReturnWorkerRequest& request,
                                    Callback<rpc::ReturnWorkerReply> callback) {
  client_.Call(&Stub::async::ReturnWorker, request, rpc::RetriedCall(), std::move(callback));
}

void GrpcRayletClient::RegisterWorker(const rpc::RegisterWorkerRequest& request,
                                      Callback<rpc::RegisterWorkerReply> callback) {
  client_.Call(&Stub::async::RegisterWorker, request, rpc::RetriedCall(), std::move(callback));
}

void GrpcRayletClient::NotifyWorkerBlocked(const rpc::NotifyWorkerBlockedRequest& request,
                                           Callback<rpc::NotifyWorkerBlockedReply> callback) {
  client_.Call(&Stub::async::NotifyWorkerBlocked, request, rpc::RetriedCall(), std::move(callback));
}

void GrpcRayletClient::HealthCheck(int64_t timeout_ms, Callback<rpc::HealthCheckReply> callback) {
  rpc::CallOptions options;
  options.timeout_ms = timeout_ms;
  client_.Call(&Stub::async::HealthCheck, rpc::HealthCheckRequest(), options, std::move(callback));
}

void GrpcRayletClient::GetNodeStats(Callback<rpc::GetNodeStatsReply> callback) {
  client_.Call(&Stub::async::GetNodeStats, rpc::GetNodeStatsRequest(), rpc::RetriedCall(), std::move(callback));
}

}  // namespace orrery::raylet
