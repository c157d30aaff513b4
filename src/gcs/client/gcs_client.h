// GcsClient: how raylets, drivers, workers and the CLI call the GCS. Each method picks the
// deadline and retry policy that suits it (reads and idempotent writes retry within the
// client's retry budget; the periodic resource report does not).
#pragma once

#include <memory>
#include <string>

#include "orrery/gcs.grpc.pb.h"
#include "src/rpc/grpc_client.h"

namespace orrery::gcs {

template <typename Reply>
using Callback = rpc::RpcCallback<Reply>;

class GcsClient {
 public:
  virtual ~GcsClient() = default;

  virtual void RegisterNode(const rpc::RegisterNodeRequest& request, Callback<rpc::RegisterNodeReply> callback) = 0;
  virtual void UnregisterNode(const rpc::UnregisterNodeRequest& request,
                              Callback<rpc::UnregisterNodeReply> callback) = 0;
  virtual void GetAllNodes(const rpc::GetAllNodesRequest& request, Callback<rpc::GetAllNodesReply> callback) = 0;
  virtual void ReportResourceUsage(const rpc::ReportResourceUsageRequest& request,
                                   Callback<rpc::ReportResourceUsageReply> callback) = 0;
  virtual void GetClusterStatus(Callback<rpc::GetClusterStatusReply> callback) = 0;
  virtual void GetNextJobId(Callback<rpc::GetNextJobIdReply> callback) = 0;
  virtual void AddJob(const rpc::AddJobRequest& request, Callback<rpc::AddJobReply> callback) = 0;
  virtual void MarkJobFinished(const rpc::MarkJobFinishedRequest& request,
                               Callback<rpc::MarkJobFinishedReply> callback) = 0;
  virtual void GetJob(const rpc::GetJobRequest& request, Callback<rpc::GetJobReply> callback) = 0;
  virtual void GetAllJobs(Callback<rpc::GetAllJobsReply> callback) = 0;
  virtual void KvGet(const rpc::KvGetRequest& request, Callback<rpc::KvGetReply> callback) = 0;
  virtual void KvPut(const rpc::KvPutRequest& request, Callback<rpc::KvPutReply> callback) = 0;
  virtual void KvDel(const rpc::KvDelRequest& request, Callback<rpc::KvDelReply> callback) = 0;
  virtual void KvExists(const rpc::KvExistsRequest& request, Callback<rpc::KvExistsReply> callback) = 0;
  virtual void KvKeys(const rpc::KvKeysRequest& request, Callback<rpc::KvKeysReply> callback) = 0;
  virtual void ReportWorkerFailure(const rpc::ReportWorkerFailureRequest& request,
                                   Callback<rpc::ReportWorkerFailureReply> callback) = 0;
  virtual void GetWorkerFailures(const rpc::GetWorkerFailuresRequest& request,
                                 Callback<rpc::GetWorkerFailuresReply> callback) = 0;
  virtual void RegisterActor(const rpc::RegisterActorRequest& request, Callback<rpc::RegisterActorReply> callback) = 0;
  virtual void GetActorInfo(const rpc::GetActorInfoRequest& request, Callback<rpc::GetActorInfoReply> callback) = 0;
  virtual void GetNamedActor(const rpc::GetNamedActorRequest& request, Callback<rpc::GetNamedActorReply> callback) = 0;
  virtual void ListActors(const rpc::ListActorsRequest& request, Callback<rpc::ListActorsReply> callback) = 0;
  virtual void KillActor(const rpc::KillActorRequest& request, Callback<rpc::KillActorReply> callback) = 0;
};

// A restarted GCS serves within tens of milliseconds: its clients look again at least this
// often (reconnects and retries), so that nobody waits out a long back-off after it is back.
inline constexpr int64_t kGcsMaxBackoffMs = 500;
// The default of a raylet's --gcs-lost-timeout-ms: how long a node's processes wait for a GCS
// that went away.
inline constexpr int64_t kDefaultGcsLostTimeoutMs = 60'000;
// `options` for a client of one of the GCS's services (GrpcGcsClient applies it itself).
rpc::ClientOptions ForTheGcs(rpc::ClientOptions options);

class GrpcGcsClient final : public GcsClient {
 public:
  // `address` is HOST:PORT.
  GrpcGcsClient(const std::string& address, rpc::ClientOptions options);

  void RegisterNode(const rpc::RegisterNodeRequest& request, Callback<rpc::RegisterNodeReply> callback) override;
  void UnregisterNode(const rpc::UnregisterNodeRequest& request, Callback<rpc::UnregisterNodeReply> callback) override;
  void GetAllNodes(const rpc::GetAllNodesRequest& request, Callback<rpc::GetAllNodesReply> callback) override;
  void ReportResourceUsage(const rpc::ReportResourceUsageRequest& request,
                           Callback<rpc::ReportResourceUsageReply> callback) override;
  void GetClusterStatus(Callback<rpc::GetClusterStatusReply> callback) override;
  void GetNextJobId(Callback<rpc::GetNextJobIdReply> callback) override;
  void AddJob(const rpc::AddJobRequest& request, Callback<rpc::AddJobReply> callback) override;
  void MarkJobFinished(const rpc::MarkJobFinishedRequest& request,
                       Callback<rpc::MarkJobFinishedReply> callback) override;
  void GetJob(const rpc::GetJobRequest& request, Callback<rpc::GetJobReply> callback) override;
  void GetAllJobs(Callback<rpc::GetAllJobsReply> callback) override;
  void KvGet(const rpc::KvGetRequest& request, Callback<rpc::KvGetReply> callback) override;
  void KvPut(const rpc::KvPutRequest& request, Callback<rpc::KvPutReply> callback) override;
  void KvDel(const rpc::KvDelRequest& request, Callback<rpc::KvDelReply> callback) override;
  void KvExists(const rpc::KvExistsRequest& request, Callback<rpc::KvExistsReply> callback) override;
  void KvKeys(const rpc::KvKeysRequest& request, Callback<rpc::KvKeysReply> callback) override;
  void ReportWorkerFailure(const rpc::ReportWorkerFailureRequest& request,
                           Callback<rpc::ReportWorkerFailureReply> callback) override;
  void GetWorkerFailures(const rpc::GetWorkerFailuresRequest& request,
                         Callback<rpc::GetWorkerFailuresReply> callback) override;
  void RegisterActor(const rpc::RegisterActorRequest& request, Callback<rpc::RegisterActorReply> callback) override;
  void GetActorInfo(const rpc::GetActorInfoRequest& request, Callback<rpc::GetActorInfoReply> callback) override;
  void GetNamedActor(const rpc::GetNamedActorRequest& request, Callback<rpc::GetNamedActorReply> callback) override;
  void ListActors(const rpc::ListActorsRequest& request, Callback<rpc::ListActorsReply> callback) override;
  void KillActor(const rpc::KillActorRequest& request, Callback<rpc::KillActorReply> callback) override;

  // For blocking callers (the CLI, tests) and the subscriber, which share the channel.
  const rpc::GrpcClient<rpc::GcsService>& client() const { return client_; }

 private:
  rpc::GrpcClient<rpc::GcsService> client_;
};

}  // namespace orrery::gcs
