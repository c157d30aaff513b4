// JobSubmissionGrpcService: the thin gRPC adapter of JobSubmissionService, routing each call to
// the JobSupervisor on the GCS event loop. No logic lives here.
#pragma once

#include "orrery/job_submission.grpc.pb.h"
#include "src/gcs/job_supervisor.h"
#include "src/rpc/server_calls.h"

namespace orrery::gcs {

class JobSubmissionGrpcService final : public rpc::JobSubmissionService::CallbackService {
 public:
  JobSubmissionGrpcService(rpc::ServerCalls& calls, JobSupervisor& supervisor)
      : calls_(calls), supervisor_(supervisor) {}

#define ORRERY_JOB_METHOD(Method)                                                                   \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* c, const rpc::Method##Request* q, \
                                   rpc::Method##Reply* r) override;
  ORRERY_JOB_METHOD(SubmitJob)
  ORRERY_JOB_METHOD(GetJobSubmission)
  ORRERY_JOB_METHOD(ListJobSubmissions)
  ORRERY_JOB_METHOD(StopJob)
  ORRERY_JOB_METHOD(DeleteJob)
  ORRERY_JOB_METHOD(ReadJobLogs)
  ORRERY_JOB_METHOD(ReportJobDriver)
#undef ORRERY_JOB_METHOD

 private:
  rpc::ServerCalls& calls_;
  JobSupervisor& supervisor_;
};

}  // namespace orrery::gcs
