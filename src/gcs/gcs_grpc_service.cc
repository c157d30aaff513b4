#include "src/gcs/gcs_grpc_service.h"

#include "src/gcs/subscriber_stream.h"
#include "src/rpc/peer_certificate.h"

namespace orrery::gcs {

using rpc::CallKind;

GcsGrpcService::GcsGrpcService(rpc::ServerCalls& calls, Handlers handlers, size_t max_queued_per_subscriber)
    : calls_(calls), h_(handlers), max_queued_per_subscriber_(max_queued_per_subscriber) {}

// Each method binds its request to the handler's method; ServerCalls does the rest.
#define ORRERY_GCS_UNARY(Method, handler, kind)                                                            \
  grpc::ServerUnaryReactor* GcsGrpcService::Method(grpc::CallbackServerContext* c,                         \
                                                   const rpc::Method##Request* q, rpc::Method##Reply* r) { \
    return calls_.Unary(                                                                                   \
        c, q, r,                                                                                           \
        [this](const rpc::Method##Request& request, rpc::Method##Reply* reply, rpc::ReplyCallback done) {  \
          h_.handler.Handle##Method(request, reply, std::move(done));                                      \
        },                                                                                                 \
        kind);                                                                                             \
  }

ORRERY_GCS_UNARY(RegisterNode, nodes, CallKind::kIdempotent)
ORRERY_GCS_UNARY(UnregisterNode, nodes, CallKind::kIdempotent)
ORRERY_GCS_UNARY(GetAllNodes, nodes, CallKind::kIdempotent)
ORRERY_GCS_UNARY(ReportResourceUsage, resources, CallKind::kIdempotent)
ORRERY_GCS_UNARY(GetClusterStatus, resources, CallKind::kIdempotent)
ORRERY_GCS_UNARY(GetNextJobId, jobs, CallKind::kDeduplicated)
ORRERY_GCS_UNARY(AddJob, jobs, CallKind::kIdempotent)
ORRERY_GCS_UNARY(MarkJobFinished, jobs, CallKind::kIdempotent)
ORRERY_GCS_UNARY(GetJob, jobs, CallKind::kIdempotent)
ORRERY_GCS_UNARY(GetAllJobs, jobs, CallKind::kIdempotent)
ORRERY_GCS_UNARY(KvGet, kv, CallKind::kIdempotent)
ORRERY_GCS_UNARY(KvPut, kv, CallKind::kDeduplicated)
ORRERY_GCS_UNARY(KvDel, kv, CallKind::kDeduplicated)
ORRERY_GCS_UNARY(KvExists, kv, CallKind::kIdempotent)
ORRERY_GCS_UNARY(KvKeys, kv, CallKind::kIdempotent)
ORRERY_GCS_UNARY(ReportWorkerFailure, workers, CallKind::kIdempotent)
ORRERY_GCS_UNARY(GetWorkerFailures, workers, CallKind::kIdempotent)
ORRERY_GCS_UNARY(RegisterActor, actors, CallKind::kIdempotent)
ORRERY_GCS_UNARY(GetActorInfo, actors, CallKind::kIdempotent)
ORRERY_GCS_UNARY(GetNamedActor, actors, CallKind::kIdempotent)
ORRERY_GCS_UNARY(ListActors, actors, CallKind::kIdempotent)
ORRERY_GCS_UNARY(KillActor, actors, CallKind::kIdempotent)
// Not retried by the server's replay cache: a second backup into the same path is refused.
ORRERY_GCS_UNARY(BackupStorage, storage, CallKind::kIdempotent)
ORRERY_GCS_UNARY(GetCaRotation, certificates, CallKind::kIdempotent)

#undef ORRERY_GCS_UNARY

// The same, for a method whose handler is told whom the caller's certificate names, which
// decides what it may ask for (a node renews its own certificate; the head rotates the CA).
#define ORRERY_GCS_UNARY_NAMING_PEER(Method, handler, kind)                                                  \
  grpc::ServerUnaryReactor* GcsGrpcService::Method(grpc::CallbackServerContext* c,                           \
                                                   const rpc::Method##Request* q, rpc::Method##Reply* r) {   \
    std::shared_ptr<const grpc::AuthContext> auth = c->auth_context();                                       \
    std::string peer_name = auth != nullptr ? rpc::PeerCertificateName(*auth) : "";                          \
    return calls_.Unary(                                                                                     \
        c, q, r,                                                                                             \
        [this, peer_name](const rpc::Method##Request& request, rpc::Method##Reply* reply,                    \
                          rpc::ReplyCallback done) {                                                         \
          h_.handler.Handle##Method(request, peer_name, reply, std::move(done));                             \
        },                                                                                                   \
        kind);                                                                                               \
  }

// A repeat signs again: a second certificate for the same key does no harm.
ORRERY_GCS_UNARY_NAMING_PEER(SignNodeCertificate, certificates, CallKind::kIdempotent)
// A repeat reports the rotation the first one started.
ORRERY_GCS_UNARY_NAMING_PEER(RotateCa, certificates, CallKind::kIdempotent)

#undef ORRERY_GCS_UNARY_NAMING_PEER

grpc::ServerWriteReactor<rpc::PubsubMessage>* GcsGrpcService::Subscribe(grpc::CallbackServerContext* c,
                                                                        const rpc::SubscribeRequest* q) {
  Publisher* publisher = &h_.publisher;
  auto dispatch = calls_.dispatcher();
  auto stream = SubscriberStream::Create(max_queued_per_subscriber_, [publisher, dispatch](SubscriberStream* done) {
    dispatch([publisher, done] { publisher->Unsubscribe(done); });
  });
  if (absl::Status auth = calls_.Authenticate(*c); !auth.ok()) {
    stream->Close(auth);
    return stream.get();
  }
  dispatch([publisher, stream, request = *q] {
    if (absl::Status status = publisher->Subscribe(stream, request); !status.ok()) stream->Close(status);
  });
  return stream.get();
}

}  // namespace orrery::gcs
