#include "src/raylet/node_manager_grpc_service.h"

#include <algorithm>
#include <chrono>

#include "src/common/id.h"
#include "src/common/status.h"
#include "src/metrics/user_metrics_wire.h"

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

grpc::ServerUnaryReactor* NodeManagerGrpcService::ReportMetrics(grpc::CallbackServerContext* c,
                                                                const rpc::ReportMetricsRequest* q,
                                                                rpc::ReportMetricsReply* r) {
  return calls_.Unary(c, q, r, [this](const rpc::ReportMetricsRequest& request, rpc::ReportMetricsReply*,
                                      rpc::ReplyCallback done) {
    auto worker = WorkerId::FromBinary(request.worker_id());
    if (!worker.ok()) return done(Annotate(worker.status(), "ReportMetrics.worker_id"));
    auto job = JobId::FromBinary(request.job_id());
    if (!job.ok()) return done(Annotate(job.status(), "ReportMetrics.job_id"));
    // Overdue after three periods (the period taken between 100 ms and a minute: a gauge of a
    // process that ended goes within three minutes whatever it claimed).
    auto overdue_after = std::chrono::milliseconds(3 * std::clamp<int64_t>(request.interval_ms(), 100, 60'000));
    user_metrics_.Update(worker->Hex(), job->Hex(), metrics::FromWire(request.metrics()), overdue_after);
    done(absl::OkStatus());
  });
}

}  // namespace orrery::raylet
