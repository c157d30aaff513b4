// GcsServer: builds, wires, starts and stops every part of orrery-gcs in one written order.
#pragma once

#include <memory>

#include "absl/status/status.h"
#include "src/common/event_loop.h"
#include "src/common/id.h"
#include "src/dashboard/dashboard_server.h"
#include "src/gcs/gcs_actor_manager.h"
#include "src/gcs/gcs_certificate_authority.h"
#include "src/gcs/gcs_config.h"
#include "src/gcs/gcs_grpc_service.h"
#include "src/gcs/gcs_health_checker.h"
#include "src/gcs/gcs_job_manager.h"
#include "src/gcs/gcs_kv_manager.h"
#include "src/gcs/working_dir_packages.h"
#include "src/gcs/gcs_metrics.h"
#include "src/gcs/gcs_node_manager.h"
#include "src/gcs/gcs_placement_group_manager.h"
#include "src/gcs/gcs_resource_manager.h"
#include "src/gcs/gcs_task_manager.h"
#include "src/gcs/gcs_worker_manager.h"
#include "src/gcs/job_submission_grpc_service.h"
#include "src/gcs/job_supervisor.h"
#include "src/gcs/placement_group_grpc_service.h"
#include "src/gcs/task_event_grpc_service.h"
#include "src/gcs/publisher.h"
#include "src/gcs/gcs_storage_backup.h"
#include "src/gcs/gcs_storage_meta.h"
#include "src/gcs/storage/store_client.h"
#include "src/gcs/storage/store_factory.h"
#include "src/rpc/grpc_server.h"
#include "src/rpc/server_calls.h"

namespace orrery::gcs {

class GcsServer {
 public:
  // `token` is the resolved cluster token.
  GcsServer(GcsConfig config, std::string token);
  ~GcsServer();

  // Starts the event loop thread, restores the tables from storage, then serves.
  absl::Status Start();
  // Stops in order: open calls and streams finished, the server, health checks, the loop.
  void Stop();

  int port() const { return server_ ? server_->port() : 0; }
  int metrics_port() const { return metrics_ ? metrics_->port() : 0; }
  int dashboard_port() const { return dashboard_ ? dashboard_->port() : 0; }
  const ClusterId& cluster_id() const { return cluster_id_; }
  // What Start() restored from storage ("3 nodes, 2 jobs, 5 actors"); empty for a new cluster.
  const std::string& restored() const { return restored_summary_; }

 private:
  // Builds and wires the components (on the loop).
  void Build(const StoreClient::Dispatcher& dispatcher);
  // Restores the tables, then serves.
  absl::Status Serve(const StorageSpec& storage);
  // GET /metrics on --metrics-port, and the scrape targets file in the session.
  absl::Status ServeMetrics();
  // The web dashboard on --dashboard-port, a client of this GCS's own services.
  absl::Status ServeDashboard();
  // Reads a working_dir package from the KV, for the job supervisor (on the loop).
  void FetchPackage(const std::string& package, std::function<void(absl::StatusOr<std::string>)> done);

  const GcsConfig config_;
  // The cluster's token and id: given, or what the storage holds for a restored cluster.
  std::string token_;
  ClusterId cluster_id_ = ClusterId::FromRandom();
  // This instance's actor-lease holder, and the earlier instances' whose leases may remain.
  const WorkerId holder_id_ = WorkerId::FromRandom();
  std::vector<WorkerId> earlier_holders_;
  rpc::GcsStorageMeta meta_;
  bool restored_ = false;
  std::string restored_summary_;
  std::shared_ptr<EventLoop> loop_;
  std::unique_ptr<StoreClient> store_;
  std::unique_ptr<GcsStorageBackup> backup_;
  std::unique_ptr<GcsCertificateAuthority> certificates_;
  std::unique_ptr<rpc::CertificateRenewer> certificate_renewer_;  // null with plain TCP
  std::unique_ptr<Publisher> publisher_;
  std::unique_ptr<GcsNodeManager> nodes_;
  std::unique_ptr<GcsJobManager> jobs_;
  std::unique_ptr<GcsKvManager> kv_;
  std::unique_ptr<GcsWorkerManager> workers_;
  std::unique_ptr<GcsResourceManager> resources_;
  std::unique_ptr<GcsHealthChecker> health_;
  absl::flat_hash_map<std::string, std::shared_ptr<raylet::RayletClient>> actor_raylets_;
  std::unique_ptr<GcsActorManager> actors_;
  std::unique_ptr<GcsPlacementGroupManager> placement_groups_;
  std::unique_ptr<JobSupervisor> supervisor_;
  std::unique_ptr<WorkingDirPackages> packages_;
  std::unique_ptr<GcsTaskManager> tasks_;
  std::unique_ptr<rpc::ServerCalls> calls_;
  std::unique_ptr<GcsGrpcService> service_;
  std::unique_ptr<PlacementGroupGrpcService> placement_group_service_;
  std::unique_ptr<JobSubmissionGrpcService> job_submission_service_;
  std::unique_ptr<TaskEventGrpcService> task_event_service_;
  std::unique_ptr<rpc::GrpcServer> server_;
  // After the tables it reads (destroyed before them), serving once the gRPC server does.
  std::unique_ptr<GcsMetrics> metrics_;
  std::unique_ptr<dashboard::DashboardServer> dashboard_;
  bool stopped_ = false;
};

}  // namespace orrery::gcs
