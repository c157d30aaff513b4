// FakeGcsClient: a GCS that answers at once, on the caller's thread: GetWorkerFailures with the
// deaths a test sets, every other call with UNIMPLEMENTED (a test that needs one adds it here).
#pragma once

#include <utility>

#include "absl/status/status.h"

#include "src/gcs/client/gcs_client.h"

namespace orrery::gcs {

class FakeGcsClient final : public GcsClient {
 public:
  void GetWorkerFailures(const rpc::GetWorkerFailuresRequest&,
                         Callback<rpc::GetWorkerFailuresReply> callback) override {
    callback(worker_failures);
  }

  void RegisterNode(const rpc::RegisterNodeRequest&, Callback<rpc::RegisterNodeReply> callback) override {
    Unimplemented(callback);
  }
  void UnregisterNode(const rpc::UnregisterNodeRequest&, Callback<rpc::UnregisterNodeReply> callback) override {
    Unimplemented(callback);
  }
  void GetAllNodes(const rpc::GetAllNodesRequest&, Callback<rpc::GetAllNodesReply> callback) override {
    Unimplemented(callback);
  }
  void ReportResourceUsage(const rpc::ReportResourceUsageRequest&,
                           Callback<rpc::ReportResourceUsageReply> callback) override {
    Unimplemented(callback);
  }
  void GetClusterStatus(Callback<rpc::GetClusterStatusReply> callback) override { Unimplemented(callback); }
  void GetNextJobId(Callback<rpc::GetNextJobIdReply> callback) override { Unimplemented(callback); }
  void AddJob(const rpc::AddJobRequest&, Callback<rpc::AddJobReply> callback) override { Unimplemented(callback); }
  void MarkJobFinished(const rpc::MarkJobFinishedRequest&, Callback<rpc::MarkJobFinishedReply> callback) override {
    Unimplemented(callback);
  }
  void GetJob(const rpc::GetJobRequest&, Callback<rpc::GetJobReply> callback) override { Unimplemented(callback); }
  void GetAllJobs(Callback<rpc::GetAllJobsReply> callback) override { Unimplemented(callback); }
  void KvGet(const rpc::KvGetRequest&, Callback<rpc::KvGetReply> callback) override { Unimplemented(callback); }
  void KvPut(const rpc::KvPutRequest&, Callback<rpc::KvPutReply> callback) override { Unimplemented(callback); }
  void KvDel(const rpc::KvDelRequest&, Callback<rpc::KvDelReply> callback) override { Unimplemented(callback); }
  void KvExists(const rpc::KvExistsRequest&, Callback<rpc::KvExistsReply> callback) override {
    Unimplemented(callback);
  }
  void KvKeys(const rpc::KvKeysRequest&, Callback<rpc::KvKeysReply> callback) override { Unimplemented(callback); }
  void ReportWorkerFailure(const rpc::ReportWorkerFailureRequest&,
                           Callback<rpc::ReportWorkerFailureReply> callback) override {
    Unimplemented(callback);
  }
  void RegisterActor(const rpc::RegisterActorRequest&, Callback<rpc::RegisterActorReply> callback) override {
    Unimplemented(callback);
  }
  void GetActorInfo(const rpc::GetActorInfoRequest&, Callback<rpc::GetActorInfoReply> callback) override {
    Unimplemented(callback);
  }
  void GetNamedActor(const rpc::GetNamedActorRequest&, Callback<rpc::GetNamedActorReply> callback) override {
    Unimplemented(callback);
  }
  void ListActors(const rpc::ListActorsRequest&, Callback<rpc::ListActorsReply> callback) override {
    Unimplemented(callback);
  }
  void KillActor(const rpc::KillActorRequest&, Callback<rpc::KillActorReply> callback) override {
    Unimplemented(callback);
  }

  rpc::GetWorkerFailuresReply worker_failures;

 private:
  template <typename Reply>
  static void Unimplemented(const Callback<Reply>& callback) {
    callback(absl::UnimplementedError("FakeGcsClient does not answer this call"));
  }
};

}  // namespace orrery::gcs
