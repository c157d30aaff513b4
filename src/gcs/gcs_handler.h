// What the GCS logic implements, one interface per table. The gRPC adapter
// (gcs_grpc_service.h) routes each call of GcsService to one of these on the GCS event loop.
#pragma once

#include "orrery/gcs.pb.h"
#include "src/rpc/server_calls.h"

namespace orrery::gcs {

using rpc::ReplyCallback;

class NodeHandler {
 public:
  virtual ~NodeHandler() = default;
  virtual void HandleRegisterNode(const rpc::RegisterNodeRequest& request, rpc::RegisterNodeReply* reply,
                                  ReplyCallback done) = 0;
  virtual void HandleUnregisterNode(const rpc::UnregisterNodeRequest& request, rpc::UnregisterNodeReply* reply,
                                    ReplyCallback done) = 0;
  virtual void HandleGetAllNodes(const rpc::GetAllNodesRequest& request, rpc::GetAllNodesReply* reply,
                                 ReplyCallback done) = 0;
};

class ResourceHandler {
 public:
  virtual ~ResourceHandler() = default;
  virtual void HandleReportResourceUsage(const rpc::ReportResourceUsageRequest& request,
                                         rpc::ReportResourceUsageReply* reply, ReplyCallback done) = 0;
  virtual void HandleGetClusterStatus(const rpc::GetClusterStatusRequest& request, rpc::GetClusterStatusReply* reply,
                                      ReplyCallback done) = 0;
};

class JobHandler {
 public:
  virtual ~JobHandler() = default;
  virtual void HandleGetNextJobId(const rpc::GetNextJobIdRequest& request, rpc::GetNextJobIdReply* reply,
                                  ReplyCallback done) = 0;
  virtual void HandleAddJob(const rpc::AddJobRequest& request, rpc::AddJobReply* reply, ReplyCallback done) = 0;
  virtual void HandleMarkJobFinished(const rpc::MarkJobFinishedRequest& request, rpc::MarkJobFinishedReply* reply,
                                     ReplyCallback done) = 0;
  virtual void HandleGetJob(const rpc::GetJobRequest& request, rpc::GetJobReply* reply, ReplyCallback done) = 0;
  virtual void HandleGetAllJobs(const rpc::GetAllJobsRequest& request, rpc::GetAllJobsReply* reply,
                                ReplyCallback done) = 0;
};

class KvHandler {
 public:
  virtual ~KvHandler() = default;
  virtual void HandleKvGet(const rpc::KvGetRequest& request, rpc::KvGetReply* reply, ReplyCallback done) = 0;
  virtual void HandleKvPut(const rpc::KvPutRequest& request, rpc::KvPutReply* reply, ReplyCallback done) = 0;
  virtual void HandleKvDel(const rpc::KvDelRequest& request, rpc::KvDelReply* reply, ReplyCallback done) = 0;
  virtual void HandleKvExists(const rpc::KvExistsRequest& request, rpc::KvExistsReply* reply, ReplyCallback done) = 0;
  virtual void HandleKvKeys(const rpc::KvKeysRequest& request, rpc::KvKeysReply* reply, ReplyCallback done) = 0;
};

class WorkerHandler {
 public:
  virtual ~WorkerHandler() = default;
  virtual void HandleReportWorkerFailure(const rpc::ReportWorkerFailureRequest& request,
                                         rpc::ReportWorkerFailureReply* reply, ReplyCallback done) = 0;
  virtual void HandleGetWorkerFailures(const rpc::GetWorkerFailuresRequest& request,
                                       rpc::GetWorkerFailuresReply* reply, ReplyCallback done) = 0;
};

class StorageHandler {
 public:
  virtual ~StorageHandler() = default;
  virtual void HandleBackupStorage(const rpc::BackupStorageRequest& request, rpc::BackupStorageReply* reply,
                                   ReplyCallback done) = 0;
};

class CertificateHandler {
 public:
  virtual ~CertificateHandler() = default;
  // `peer_name`: the name on the caller's TLS certificate; empty when it has none (a node
  // joining) or the port is plain.
  virtual void HandleSignNodeCertificate(const rpc::SignNodeCertificateRequest& request, const std::string& peer_name,
                                         rpc::SignNodeCertificateReply* reply, ReplyCallback done) = 0;
  virtual void HandleRotateCa(const rpc::RotateCaRequest& request, const std::string& peer_name,
                              rpc::RotateCaReply* reply, ReplyCallback done) = 0;
  virtual void HandleGetCaRotation(const rpc::GetCaRotationRequest& request, rpc::GetCaRotationReply* reply,
                                   ReplyCallback done) = 0;
};

class ActorHandler {
 public:
  virtual ~ActorHandler() = default;
  virtual void HandleRegisterActor(const rpc::RegisterActorRequest& request, rpc::RegisterActorReply* reply,
                                   ReplyCallback done) = 0;
  virtual void HandleGetActorInfo(const rpc::GetActorInfoRequest& request, rpc::GetActorInfoReply* reply,
                                  ReplyCallback done) = 0;
  virtual void HandleGetNamedActor(const rpc::GetNamedActorRequest& request, rpc::GetNamedActorReply* reply,
                                   ReplyCallback done) = 0;
  virtual void HandleListActors(const rpc::ListActorsRequest& request, rpc::ListActorsReply* reply,
                                ReplyCallback done) = 0;
  virtual void HandleKillActor(const rpc::KillActorRequest& request, rpc::KillActorReply* reply,
                               ReplyCallback done) = 0;
};

}  // namespace orrery::gcs
