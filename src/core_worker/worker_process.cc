#include "src/core_worker/worker_process.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/numbers.h"
#include "orrery/core_worker.grpc.pb.h"
#include "orrery/version.h"
#include "src/common/log.h"
#include "src/common/net.h"
#include "src/rpc/cluster_tls.h"
#include "src/common/logging.h"
#include "src/common/session.h"
#include "src/common/status.h"
#include "src/core_worker/zygote.h"
#include "src/raylet/client/raylet_client.h"
#include "src/rpc/auth.h"
#include "src/rpc/grpc_server.h"
#include "src/rpc/rpc_options.h"

namespace orrery::internal {

namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

template <typename Id>
absl::StatusOr<Id> IdFromEnv(const char* name) {
  std::string hex = Env(name);
  if (hex.empty()) return absl::FailedPreconditionError(std::string(name) + " is not set");
  auto id = Id::FromHex(hex);
  if (!id.ok()) return Annotate(id.status(), name);
  return id;
}

}  // namespace

// CoreWorkerService of the platform step: control calls only. Called on gRPC threads; it
// touches nothing but the notification and immutable startup data.
class CoreWorkerServiceImpl final : public rpc::CoreWorkerService::CallbackService {
 public:
  CoreWorkerServiceImpl(const WorkerStartup& startup, absl::Notification& exit_requested)
      : startup_(startup), auth_("worker", startup.token), exit_requested_(exit_requested) {}

  grpc::ServerUnaryReactor* Exit(grpc::CallbackServerContext* context, const rpc::ExitRequest* request,
                                 rpc::ExitReply* reply) override {
    auto* reactor = context->DefaultReactor();
    if (absl::Status status = auth_.Check(*context); !status.ok()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(status.message())));
      return reactor;
    }
    reply->set_accepted(true);
    reactor->Finish(grpc::Status::OK);
    if (!exit_requested_.HasBeenNotified()) exit_requested_.Notify();
    return reactor;
  }

  grpc::ServerUnaryReactor* GetWorkerInfo(grpc::CallbackServerContext* context, const rpc::GetWorkerInfoRequest* request,
                                          rpc::GetWorkerInfoReply* reply) override {
    auto* reactor = context->DefaultReactor();
    if (absl::Status status = auth_.Check(*context); !status.ok()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(status.message())));
      return reactor;
    }
    reply->set_worker_id(startup_.worker_id.Binary());
    reply->set_pid(getpid());
    reply->set_job_id(startup_.job_id.Binary());
    reply->set_forked_from_zygote(startup_.forked_from_zygote);
    for (const char* name : {"CUDA_VISIBLE_DEVICES", "ORRERY_IS_ACTOR_WORKER"}) {
      if (const char* value = std::getenv(name); value != nullptr) (*reply->mutable_runtime_env())[name] = value;
    }
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const WorkerStartup& startup_;
  const rpc::TokenAuthenticator auth_;
  absl::Notification& exit_requested_;
};

bool LaunchedByRaylet() { return !Env("ORRERY_WORKER_MODE").empty(); }

namespace {

// Workers go first when the kernel must kill a process for memory, before the raylet, the
// object store's owner or the GCS: the highest oom_score_adj (raising it needs no privilege).
// A zygote's forks inherit it.
void VolunteerForTheOomKiller() {
  std::ofstream adj("/proc/self/oom_score_adj");
  adj << 1000;
}

}  // namespace

absl::StatusOr<WorkerStartup> EnterWorkerProcess() {
  VolunteerForTheOomKiller();
  if (Env("ORRERY_WORKER_MODE") == "zygote") {
    int fd = -1;
    if (!absl::SimpleAtoi(Env("ORRERY_ZYGOTE_FD"), &fd) || fd < 0) {
      return absl::FailedPreconditionError("ORRERY_WORKER_MODE=zygote without a valid ORRERY_ZYGOTE_FD");
    }
    RunZygote(fd);  // returns in a forked worker
  }
  WorkerStartup startup;
  ORRERY_ASSIGN_OR_RETURN(startup.worker_id, IdFromEnv<WorkerId>("ORRERY_WORKER_ID"));
  ORRERY_ASSIGN_OR_RETURN(startup.job_id, IdFromEnv<JobId>("ORRERY_JOB_ID"));
  ORRERY_ASSIGN_OR_RETURN(startup.node_id, IdFromEnv<NodeId>("ORRERY_NODE_ID"));
  startup.node_ip = Env("ORRERY_NODE_IP");
  startup.raylet_socket = Env("ORRERY_RAYLET_SOCKET");
  startup.gcs_address = Env("ORRERY_GCS_ADDRESS");
  startup.token = Env("ORRERY_TOKEN");
  startup.session_dir = Env("ORRERY_SESSION_DIR");
  startup.forked_from_zygote = Env("ORRERY_FORKED_FROM_ZYGOTE") == "1";
  startup.bind_all = Env("ORRERY_BIND_ALL") == "1";
  if (int64_t budget = 0; absl::SimpleAtoi(Env("ORRERY_GCS_LOST_TIMEOUT_MS"), &budget) && budget > 0) {
    startup.gcs_lost_timeout_ms = budget;
  }
  if (startup.raylet_socket.empty()) return absl::FailedPreconditionError("ORRERY_RAYLET_SOCKET is not set");
  // The raylet that started this worker named its TLS directory, if the cluster uses TLS.
  ORRERY_RETURN_IF_ERROR(rpc::UseTlsDirFromEnvironment());
  return startup;
}

WorkerProcess::WorkerProcess(WorkerStartup startup) : startup_(std::move(startup)) {}

WorkerProcess::~WorkerProcess() {
  if (server_) server_->Shutdown(0);
}

int WorkerProcess::port() const { return server_ ? server_->port() : 0; }

absl::Status WorkerProcess::Start() {
  LoggingOptions logging{"worker", startup_.worker_id.Hex(), "", "info"};
  if (!startup_.session_dir.empty()) logging.log_dir = SessionDir(startup_.session_dir).LogsDir();
  ORRERY_RETURN_IF_ERROR(InitLogging(logging));

  rpc::RpcOptions rpc_options;
  service_ = std::make_unique<CoreWorkerServiceImpl>(startup_, exit_requested_);
  server_ = std::make_unique<rpc::GrpcServer>(rpc::ServerOptions{
      "worker", ListenHost(startup_.node_ip, startup_.bind_all), 0, "", rpc_options, startup_.token});
  server_->AddService(service_.get());
  ORRERY_RETURN_IF_ERROR(server_->Start());

  raylet::GrpcRayletClient raylet(startup_.raylet_socket,
                                  rpc::ClientOptions{"raylet at " + startup_.raylet_socket, startup_.token, rpc_options});
  rpc::RegisterWorkerRequest request;
  request.set_worker_id(startup_.worker_id.Binary());
  request.set_worker_type(rpc::WORKER);
  request.set_pid(getpid());
  request.set_port(server_->port());
  request.set_job_id(startup_.job_id.Binary());
  request.set_version(ORRERY_VERSION_STRING);
  rpc::CallOptions options;
  options.retry = true;
  auto reply = raylet.client().CallSync(&rpc::NodeManagerService::Stub::async::RegisterWorker, request, options);
  if (!reply.ok()) return Annotate(reply.status(), "registering with the raylet");
  spdlog::info("worker {} (pid {}) serving on port {}", startup_.worker_id.Hex(), getpid(), server_->port());
  return absl::OkStatus();
}

void WorkerProcess::WaitForExit() { exit_requested_.WaitForNotification(); }

}  // namespace orrery::internal
