// TestCluster: real orrery-gcs and orrery-raylet processes on loopback, with free ports and a
// private temp-dir root, for integration tests. Everything it started is killed when it is
// destroyed, and dies with the test process if that crashes.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "orrery/gcs.grpc.pb.h"
#include "orrery/node_manager.grpc.pb.h"
#include "src/common/fixed_point.h"
#include "src/common/id.h"
#include "src/common/session.h"
#include "src/gcs/client/gcs_client.h"
#include "src/launcher/daemon_launcher.h"
#include "src/raylet/client/raylet_client.h"

namespace orrery::testing {

// The build's bin directory, where the daemons and orrery-test-worker are.
std::string BinDir();

struct RayletOptions {
  double num_cpus = 2;
  int num_gpus = 0;
  std::string resources;                 // JSON
  std::vector<std::string> extra_flags;  // e.g. "--worker-idle-timeout-ms=100"
  std::map<std::string, std::string> env;
};

struct ClusterOptions {
  std::vector<std::string> gcs_flags;
  int64_t health_check_period_ms = 100;
  int health_check_failure_threshold = 3;
  RayletOptions head;
  bool start_raylet = true;
};

struct RayletProcess {
  pid_t pid = -1;
  int pidfd = -1;
  NodeId node_id;
  int port = 0;
  std::string socket;  // unix:/path
  std::unique_ptr<raylet::GrpcRayletClient> client;
};

class TestCluster {
 public:
  static absl::StatusOr<std::unique_ptr<TestCluster>> Start(ClusterOptions options = {});
  ~TestCluster();

  absl::StatusOr<RayletProcess*> AddRaylet(const RayletOptions& options);

  // A new job whose workers run orrery-test-worker (with `env` in their environment), or
  // `command` when given.
  absl::StatusOr<JobId> CreateJob(const std::map<std::string, std::string>& env = {},
                                  std::vector<std::string> command = {});

  // Starts orrery-test-worker as a job's driver process (see test_worker_main.cc) and waits
  // until it has registered. Killed with the cluster.
  struct Driver {
    pid_t pid = -1;
    int pidfd = -1;
    JobId job_id;
    WorkerId worker_id;
  };
  absl::StatusOr<Driver> StartDriver(size_t raylet_index = 0);

  // Blocking calls.
  template <typename Req, typename Reply>
  absl::StatusOr<Reply> Gcs(void (rpc::GcsService::Stub::async::*method)(grpc::ClientContext*, const Req*, Reply*,
                                                                          std::function<void(grpc::Status)>),
                            const Req& request) {
    return gcs_->client().CallSync(method, request);
  }
  template <typename Req, typename Reply>
  absl::StatusOr<Reply> Raylet(size_t index,
                               void (rpc::NodeManagerService::Stub::async::*method)(
                                   grpc::ClientContext*, const Req*, Reply*, std::function<void(grpc::Status)>),
                               const Req& request, int64_t timeout_ms = 0) {
    rpc::CallOptions options;
    options.timeout_ms = timeout_ms;
    return raylets_.at(index)->client->client().CallSync(method, request, options);
  }

  // Kills raylet `index` with `sig` and waits until it is gone.
  void KillRaylet(size_t index, int sig);

  const std::string& gcs_address() const { return gcs_address_; }
  int gcs_port() const { return gcs_port_; }
  const std::string& token() const { return token_; }
  const std::string& root() const { return root_; }
  const SessionDir& session() const { return session_; }
  RayletProcess& raylet(size_t index) { return *raylets_.at(index); }
  size_t num_raylets() const { return raylets_.size(); }
  gcs::GrpcGcsClient& gcs_client() { return *gcs_; }
  pid_t gcs_pid() const { return gcs_.get() ? gcs_daemon_.pid : -1; }

 private:
  TestCluster() = default;

  std::string root_;
  SessionDir session_;
  std::string token_;
  std::string gcs_address_;
  int gcs_port_ = 0;
  launcher::DaemonProcess gcs_daemon_;
  std::unique_ptr<gcs::GrpcGcsClient> gcs_;
  std::vector<std::unique_ptr<RayletProcess>> raylets_;
  std::vector<Driver> drivers_;
};

// A lease request for `job` asking for `resources` (fixed point from doubles).
rpc::RequestWorkerLeaseRequest LeaseRequest(const JobId& job, const std::map<std::string, double>& resources,
                                            const WorkerId& holder, int64_t wait_ms = 10'000,
                                            LeaseId lease_id = LeaseId::FromRandom());

// Polls `condition` until it holds or `timeout_ms` passes. For state that has no event to
// wait on (a CLI's output, /proc); events are awaited on subscriptions instead.
bool Eventually(const std::function<bool()>& condition, int64_t timeout_ms = 10'000);

}  // namespace orrery::testing
