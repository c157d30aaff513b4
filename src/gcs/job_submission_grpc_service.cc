#include "src/gcs/job_submission_grpc_service.h"

namespace orrery::gcs {

using rpc::CallKind;

#define ORRERY_JOB_UNARY(Method, Kind)                                                                    \
  grpc::ServerUnaryReactor* JobSubmissionGrpcService::Method(grpc::CallbackServerContext* c,              \
                                                             const rpc::Method##Request* q,               \
                                                             rpc::Method##Reply* r) {                     \
    return calls_.Unary(                                                                                  \
        c, q, r,                                                                                          \
        [this](const rpc::Method##Request& request, rpc::Method##Reply* reply, rpc::ReplyCallback done) { \
          supervisor_.Handle##Method(request, reply, std::move(done));                                    \
        },                                                                                                \
        Kind);                                                                                            \
  }

// A retried submission must not start the driver twice (a generated id would differ).
ORRERY_JOB_UNARY(SubmitJob, CallKind::kDeduplicated)
ORRERY_JOB_UNARY(GetJobSubmission, CallKind::kIdempotent)
ORRERY_JOB_UNARY(ListJobSubmissions, CallKind::kIdempotent)
ORRERY_JOB_UNARY(StopJob, CallKind::kIdempotent)
ORRERY_JOB_UNARY(DeleteJob, CallKind::kIdempotent)
ORRERY_JOB_UNARY(ReadJobLogs, CallKind::kIdempotent)
ORRERY_JOB_UNARY(ReportJobDriver, CallKind::kIdempotent)

#undef ORRERY_JOB_UNARY

}  // namespace orrery::gcs
