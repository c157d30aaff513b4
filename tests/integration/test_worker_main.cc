// orrery-test-worker: the worker program the platform's integration tests register as a job's
// worker command. It enters the same internal worker entry point orrery::Init() does.
//
//   (started by a raylet)      serve as a worker until told to exit
//   --driver GCS_ADDR SOCKET   act as a job's driver: take a job id, register the job (with
//                              this program as its worker command) and this process with the
//                              raylet at SOCKET, print "JOB <hex>", then wait to be killed
// With ORRERY_TEST_THREAD_BEFORE_INIT=1 it starts a thread first, as a program that starts
// CUDA or OpenMP before Init() would, which forces the raylet's exec fallback.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "orrery/gcs.grpc.pb.h"
#include "orrery/version.h"
#include "src/common/id.h"
#include "src/common/process.h"
#include "src/core_worker/worker_process.h"
#include "src/gcs/client/gcs_client.h"
#include "src/raylet/client/raylet_client.h"

namespace {

int RunDriver(const std::string& gcs_address, const std::string& raylet_socket) {
  using namespace orrery;
  const char* token = std::getenv("ORRERY_TOKEN");
  rpc::ClientOptions options{"GCS", token ? token : "", rpc::RpcOptions()};
  gcs::GrpcGcsClient gcs(gcs_address, options);
  rpc::CallOptions retry;
  retry.retry = true;
  auto job = gcs.client().CallSync(&rpc::GcsService::Stub::async::GetNextJobId, rpc::GetNextJobIdRequest(), retry);
  if (!job.ok()) {
    fprintf(stderr, "GetNextJobId: %s\n", std::string(job.status().message()).c_str());
    return 1;
  }
  WorkerId driver_id = WorkerId::FromRandom();
  rpc::AddJobRequest add;
  add.mutable_job()->set_job_id(job->job_id());
  add.mutable_job()->set_version(ORRERY_VERSION_STRING);
  add.mutable_job()->set_driver_pid(getpid());
  add.mutable_job()->set_driver_worker_id(driver_id.Binary());
  add.mutable_job()->mutable_config()->add_worker_command(SelfExePath());
  if (auto added = gcs.client().CallSync(&rpc::GcsService::Stub::async::AddJob, add, retry); !added.ok()) {
    fprintf(stderr, "AddJob: %s\n", std::string(added.status().message()).c_str());
    return 1;
  }
  raylet::GrpcRayletClient raylet(raylet_socket, options);
  rpc::RegisterWorkerRequest reg;
  reg.set_worker_id(driver_id.Binary());
  reg.set_worker_type(rpc::DRIVER);
  reg.set_pid(getpid());
  reg.set_job_id(job->job_id());
  reg.set_version(ORRERY_VERSION_STRING);
  if (auto registered = raylet.client().CallSync(&rpc::NodeManagerService::Stub::async::RegisterWorker, reg, retry);
      !registered.ok()) {
    fprintf(stderr, "RegisterWorker: %s\n", std::string(registered.status().message()).c_str());
    return 1;
  }
  printf("JOB %s WORKER %s\n", JobId::FromBinary(job->job_id())->Hex().c_str(), driver_id.Hex().c_str());
  fflush(stdout);
  pause();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--driver") == 0) return RunDriver(argv[2], argv[3]);
  if (const char* thread = std::getenv("ORRERY_TEST_THREAD_BEFORE_INIT"); thread && std::strcmp(thread, "1") == 0) {
    std::thread([] { pause(); }).detach();
  }
  auto startup = orrery::internal::EnterWorkerProcess();
  if (!startup.ok()) {
    fprintf(stderr, "orrery-test-worker: %s\n", std::string(startup.status().message()).c_str());
    return 2;
  }
  orrery::internal::WorkerProcess worker(*startup);
  if (absl::Status status = worker.Start(); !status.ok()) {
    fprintf(stderr, "orrery-test-worker: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  worker.WaitForExit();
  return 0;
}
