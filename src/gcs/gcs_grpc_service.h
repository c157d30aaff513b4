// GcsGrpcService: the thin gRPC adapter of GcsService. Every unary method goes through
// ServerCalls (token, loop, deduplication); Subscribe becomes a SubscriberStream handed to the
// Publisher on the loop. No logic lives here.
#pragma once

#include <functional>

#include "orrery/gcs.grpc.pb.h"
#include "src/gcs/gcs_handler.h"
#include "src/gcs/publisher.h"
#include "src/rpc/server_calls.h"

namespace orrery::gcs {

class GcsGrpcService final : public rpc::GcsService::CallbackService {
 public:
  struct Handlers {
    NodeHandler& nodes;
    ResourceHandler& resources;
    JobHandler& jobs;
    KvHandler& kv;
    WorkerHandler& workers;
    ActorHandler& actors;
    StorageHandler& storage;
    CertificateHandler& certificates;
    Publisher& publisher;
  };

  GcsGrpcService(rpc::ServerCalls& calls, Handlers handlers, size_t max_queued_per_subscriber);

  grpc::ServerUnaryReactor* RegisterNode(grpc::CallbackServerContext* c, const rpc::RegisterNodeRequest* q,
                                         rpc::RegisterNodeReply* r) override;
  grpc::ServerUnaryReactor* UnregisterNode(grpc::CallbackServerContext* c, const rpc::UnregisterNodeRequest* q,
                                           rpc::UnregisterNodeReply* r) override;
  grpc::ServerUnaryReactor* GetAllNodes(grpc::CallbackServerContext* c, const rpc::GetAllNodesRequest* q,
                                        rpc::GetAllNodesReply* r) override;
  grpc::ServerUnaryReactor* ReportResourceUsage(grpc::CallbackServerContext* c,
                                                const rpc::ReportResourceUsageRequest* q,
                                                rpc::ReportResourceUsageReply* r) override;
  grpc::ServerUnaryReactor* GetClusterStatus(grpc::CallbackServerContext* c, const rpc::GetClusterStatusRequest* q,
                                             rpc::GetClusterStatusReply* r) override;
  grpc::ServerUnaryReactor* GetNextJobId(grpc::CallbackServerContext* c, const rpc::GetNextJobIdRequest* q,
                                         rpc::GetNextJobIdReply* r) override;
  grpc::ServerUnaryReactor* AddJob(grpc::CallbackServerContext* c, const rpc::AddJobRequest* q,
                                   rpc::AddJobReply* r) override;
  grpc::ServerUnaryReactor* MarkJobFinished(grpc::CallbackServerContext* c, const rpc::MarkJobFinishedRequest* q,
                                            rpc::MarkJobFinishedReply* r) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* c, const rpc::GetJobRequest* q,
                                   rpc::GetJobReply* r) override;
  grpc::ServerUnaryReactor* GetAllJobs(grpc::CallbackServerContext* c, const rpc::GetAllJobsRequest* q,
                                       rpc::GetAllJobsReply* r) override;
  grpc::ServerUnaryReactor* KvGet(grpc::CallbackServerContext* c, const rpc::KvGetRequest* q,
                                  rpc::KvGetReply* r) override;
  grpc::ServerUnaryReactor* KvPut(grpc::CallbackServerContext* c, const rpc::KvPutRequest* q,
                                  rpc::KvPutReply* r) override;
  grpc::ServerUnaryReactor* KvDel(grpc::CallbackServerContext* c, const rpc::KvDelRequest* q,
                                  rpc::KvDelReply* r) override;
  grpc::ServerUnaryReactor* KvExists(grpc::CallbackServerContext* c, const rpc::KvExistsRequest* q,
                                     rpc::KvExistsReply* r) override;
  grpc::ServerUnaryReactor* KvKeys(grpc::CallbackServerContext* c, const rpc::KvKeysRequest* q,
                                   rpc::KvKeysReply* r) override;
  grpc::ServerUnaryReactor* ReportWorkerFailure(grpc::CallbackServerContext* c,
                                                const rpc::ReportWorkerFailureRequest* q,
                                                rpc::ReportWorkerFailureReply* r) override;
  grpc::ServerUnaryReactor* GetWorkerFailures(grpc::CallbackServerContext* c, const rpc::GetWorkerFailuresRequest* q,
                                              rpc::GetWorkerFailuresReply* r) override;
  grpc::ServerUnaryReactor* RegisterActor(grpc::CallbackServerContext* c, const rpc::RegisterActorRequest* q,
                                          rpc::RegisterActorReply* r) override;
  grpc::ServerUnaryReactor* GetActorInfo(grpc::CallbackServerContext* c, const rpc::GetActorInfoRequest* q,
                                         rpc::GetActorInfoReply* r) override;
  grpc::ServerUnaryReactor* GetNamedActor(grpc::CallbackServerContext* c, const rpc::GetNamedActorRequest* q,
                                          rpc::GetNamedActorReply* r) override;
  grpc::ServerUnaryReactor* ListActors(grpc::CallbackServerContext* c, const rpc::ListActorsRequest* q,
                                       rpc::ListActorsReply* r) override;
  grpc::ServerUnaryReactor* KillActor(grpc::CallbackServerContext* c, const rpc::KillActorRequest* q,
                                      rpc::KillActorReply* r) override;
  grpc::ServerUnaryReactor* BackupStorage(grpc::CallbackServerContext* c, const rpc::BackupStorageRequest* q,
                                          rpc::BackupStorageReply* r) override;
  grpc::ServerUnaryReactor* SignNodeCertificate(grpc::CallbackServerContext* c,
                                                const rpc::SignNodeCertificateRequest* q,
                                                rpc::SignNodeCertificateReply* r) override;
  grpc::ServerUnaryReactor* RotateCa(grpc::CallbackServerContext* c, const rpc::RotateCaRequest* q,
                                     rpc::RotateCaReply* r) override;
  grpc::ServerUnaryReactor* GetCaRotation(grpc::CallbackServerContext* c, const rpc::GetCaRotationRequest* q,
                                          rpc::GetCaRotationReply* r) override;
  grpc::ServerWriteReactor<rpc::PubsubMessage>* Subscribe(grpc::CallbackServerContext* c,
                                                          const rpc::SubscribeRequest* q) override;

 private:
  rpc::ServerCalls& calls_;
  Handlers h_;
  const size_t max_queued_per_subscriber_;
};

}  // namespace orrery::gcs
