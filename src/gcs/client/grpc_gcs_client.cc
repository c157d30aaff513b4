#include "src/gcs/client/gcs_client.h"

#include <algorithm>

#include "src/rpc/retried_call.h"

namespace orrery::gcs {

namespace {
using Stub = rpc::GcsService::Stub;

rpc::CallOptions Once() { return rpc::CallOptions(); }
}  // namespace

rpc::ClientOptions ForTheGcs(rpc::ClientOptions options) {
  options.rpc.retry_max_backoff_ms = std::min(options.rpc.retry_max_backoff_ms, kGcsMaxBackoffMs);
  return options;
}

GrpcGcsClient::GrpcGcsClient(const std::string& address, rpc::ClientOptions options)
    : client_(rpc::MakeChannel(address, ForTheGcs(options)), ForTheGcs(options)) {}

// One attempt, never resent: a registration again carries what the node hosts at that moment,
// and a copy resent to a GCS that restarted since would have it reconcile its restored actors
// against a list older than they are (an actor created in between would be taken for gone). The
// raylet's next report, answered by the GCS now there, starts a fresh registration.
void GrpcGcsClient::RegisterNode(const rpc::RegisterNodeRequest& request, Callback<rpc::RegisterNodeReply> callback) {
  client_.Call(&Stub::async::RegisterNode, request, rpc::CallOptions(), std::move(callback));
}
void GrpcGcsClient::UnregisterNode(const rpc::UnregisterNodeRequest& request,
                                   Callback<rpc::UnregisterNodeReply> callback) {
  client_.Call(&Stub::async::UnregisterNode, request, rpc::RetriedCall(), std::move(callback));
}
void GrpcGcsClient::GetAllNodes(const rpc::GetAllNodesRequest& request, Callback<rpc::GetAllNodesReply> callback) {
  client_.Call(&Stub::async::GetAllNodes, request, rpc::RetriedCall(), std::move(callback));
}
void GrpcGcsClient::ReportResourceUsage(const rpc::ReportResourceUsageRequest& request,
                                        Callback<rpc::ReportResourceUsageReply> callback) {
  client_.Call(&Stub::async::ReportResourceUsage, request, Once(), std::move(callback));
}
void GrpcGcsClient::GetClusterStatus(Callback<rpc::GetClusterStatusReply> callback) {
  client_.Call(&Stub::async::GetClusterStatus, rpc::GetClusterStatusRequest(), rpc::RetriedCall(), std::move(callback));
}
void GrpcGcsClient::GetNextJobId(Callback<rpc::GetNextJobIdReply> callback) {
  client_.Call(&Stub::async::GetNextJobId, rpc::GetNextJobIdRequest(), rpc::RetriedCall(), std::move(callback));
}
void GrpcGcsClient::AddJob(const rpc::AddJobRequest& request, Callback<rpc::AddJobReply> callback) {
  client_.Call(&Stub::async::AddJob, request, rpc::RetriedCall(), std::move(callback));
}
void GrpcGcsClient::MarkJobFinished(const rpc::MarkJobFinishedRequest& request,
                                    Callback<rpc::MarkJobFinishedReply> callback) {
  client_.Call(&Stub::async::MarkJobFinished, request, rpc::RetriedCall(), std::move(callback));
}
void GrpcGcsClient::GetJob(const rpc::GetJobRequest& request, Callback<rpc::GetJobReply> callback) {
  client_.Call(&Stub::async::GetJob, request, rpc::RetriedCall(), std::move(callback));
}
void GrpcGcsClient::GetAllJobs(Callback<rpc::GetAllJobsReply> callback) {
  client_.Call(&Stub::async::GetAllJobs, rpc::GetAllJobsRequest(), rpc::RetriedCall(), std::move(callback));
}
void GrpcGcsClient::KvGet(const rpc::KvGetRequest& request, Callback<rpc::KvGetReply> callback) {
  client_.Call(&Stub::async::KvGet, request, rpc::RetriedCall(), std::move(callback));
}
void GrpcGcsClient::KvPut(const rpc::KvPutRequest& request, Callback<rpc::KvPutReply> callback) {
  client_.Call(&Stub::async::KvPut, request, rpc::RetriedCall(), std::move(callback));
}
void GrpcGcsClient::KvDel(const rpc::KvDelRequest& request, Callback<rpc::KvDelReply> callback) {
  client_.Call(&Stub::async::KvDel, request, rpc::RetriedCall(), std::move(callback));
}
void GrpcGcsClient::KvExists(const rpc::KvExistsRequest& request, Callback<rpc::KvExistsReply> callback) {
  client_.Call(&Stub::async::KvExists, request, rpc::RetriedCall(), std::move(callback));
}
void GrpcGcsClient::KvKeys(const rpc::KvKeysRequest& request, Callback<rpc::KvKeysReply> callback) {
  client_.Call(&Stub::async::KvKeys, request, rpc::RetriedCall(), std::move(callback));
}
void GrpcGcsClient::ReportWorkerFailure(const rpc::ReportWorkerFailureRequest& request,
                                        Callback<rpc::ReportWorkerFailureReply> callback) {
  client_.Call(&Stub::async::ReportWorkerFailure, request, rpc::RetriedCall(), std::move(callback));
}
void GrpcGcsClient::GetWorkerFailures(const rpc::GetWorkerFailuresRequest& request,
                                      Callback<rpc::GetWorkerFailuresReply> callback) {
  client_.Call(&Stub::async::GetWorkerFailures, request, rpc::RetriedCall(), std::move(callback));
}

void GrpcGcsClient::RegisterActor(const rpc::RegisterActorRequest& request, Callback<rpc::RegisterActorReply> callback) {
  // Retried through a GCS restart: the GCS knows a registration it stored by the actor's id.
  client_.Call(&Stub::async::RegisterActor, request, rpc::RetriedCall(), std::move(callback));
}
void GrpcGcsClient::GetActorInfo(const rpc::GetActorInfoRequest& request, Callback<rpc::GetActorInfoReply> callback) {
  // A long poll: the GCS holds it up to wait_ms, so the deadline must outlast that.
  rpc::CallOptions options = rpc::RetriedCall();
  options.timeout_ms = request.wait_ms() + 10'000;
  client_.Call(&Stub::async::GetActorInfo, request, options, std::move(callback));
}
void GrpcGcsClient::GetNamedActor(const rpc::GetNamedActorRequest& request, Callback<rpc::GetNamedActorReply> callback) {
  client_.Call(&Stub::async::GetNamedActor, request, rpc::RetriedCall(), std::move(callback));
}
void GrpcGcsClient::ListActors(const rpc::ListActorsRequest& request, Callback<rpc::ListActorsReply> callback) {
  client_.Call(&Stub::async::ListActors, request, rpc::RetriedCall(), std::move(callback));
}
void GrpcGcsClient::KillActor(const rpc::KillActorRequest& request, Callback<rpc::KillActorReply> callback) {
  client_.Call(&Stub::async::KillActor, request, rpc::RetriedCall(), std::move(callback));
}

}  // namespace orrery::gcs
