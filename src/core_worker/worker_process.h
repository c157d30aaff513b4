// The one internal entry point of every worker process a raylet starts: the test worker
// program here, and orrery::Init() in a worker (remote functions). It reads what the raylet put
// in the environment, becomes a zygote if asked (returning only in forked children), serves
// CoreWorkerService and registers with the raylet.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "src/common/id.h"

namespace orrery::rpc {
class GrpcServer;
}

namespace orrery::internal {

// What the raylet told this process through its environment (ORRERY_* variables).
struct WorkerStartup {
  WorkerId worker_id;
  JobId job_id;
  NodeId node_id;
  std::string node_ip;
  std::string raylet_socket;  // unix:/path
  std::string gcs_address;
  std::string token;
  std::string session_dir;
  bool forked_from_zygote = false;
  int64_t gcs_lost_timeout_ms = 60'000;  // its raylet's --gcs-lost-timeout-ms
  bool bind_all = false;                 // its raylet's --bind-all: listen on every interface, not node_ip
};

// True when a raylet started this process (ORRERY_WORKER_MODE is set).
bool LaunchedByRaylet();

// In a zygote, runs the zygote loop and returns only in a forked child. Then reads the
// startup information of this worker.
absl::StatusOr<WorkerStartup> EnterWorkerProcess();

class CoreWorkerServiceImpl;

// A worker process's serving side: CoreWorkerService on a free port and registration with its
// raylet. Exits when asked (Exit) or when the raylet is gone (it dies with its parent).
class WorkerProcess {
 public:
  explicit WorkerProcess(WorkerStartup startup);
  ~WorkerProcess();

  // Serves and registers; an error names what failed.
  absl::Status Start();
  // Blocks until Exit is called on the service.
  void WaitForExit();
  int port() const;

 private:
  WorkerStartup startup_;
  absl::Notification exit_requested_;
  std::unique_ptr<CoreWorkerServiceImpl> service_;
  std::unique_ptr<rpc::GrpcServer> server_;
};

}  // namespace orrery::internal
