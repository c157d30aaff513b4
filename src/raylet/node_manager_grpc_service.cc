#include "src/raylet/node_manager_grpc_service.h"

namespace orrery::raylet {

// Lease ids make the lease calls idempotent in the logic itself, so no method needs the
// replay cache.
#define ORRERY_RAYLET_UNARY(Method)                                                                               \
  grpc::ServerUnaryReactor* NodeManagerGrpcService::Method(grpc::CallbackServerContext* c,                        \
                                                           const rpc::Method##Request* q, rpc::Method##Reply* r) { \
    return calls_.Unary(c, q, r,                                                                                  \
                        [this](const rpc::Method##Request& request, rpc::Method##Reply* reply,                    \
                               rpc::ReplyCallback done) { handler_.Handle##Method(request, reply, std::move(done)); }); \
  }

ORRERY_RAYLET_UNARY(RequestWorkerLease)
ORRERY_RAYLET_UNARY(CancelWorkerLease)
ORRERY_RAYLET_UNARY(ReturnWorker)
ORRERY_RAYLET_UNARY(ReleaseLeasesOfHolder)
ORRERY_RAYLET_UNARY(RegisterWorker)
ORRERY_RAYLET_UNARY(NotifyWorkerBlocked)
ORRERY_RAYLET_UNARY(HealthCheck)
ORRERY_RAYLET_UNARY(GetNodeStats)

#undef ORRERY_RAYLET_UNARY

grpc::ServerUnaryReactor* NodeManagerGrpcService::FreeObjects(grpc::CallbackServerContext* c,
                                                              const rpc::FreeObjectsRequest* q,
                                                              rpc::FreeObjectsReply* r) {
  return calls_.Unary(c, q, r, [this](const rpc::FreeObjectsRequest& request, rpc::FreeObjectsReply*,
                                      rpc::ReplyCallback done) {
    objects_.Free(request);
    done(absl::OkStatus());
  });
}

}  // namespace orrery::raylet
