// NodeManager: the raylet's logic behind NodeManagerService, and the glue between its parts:
// the lease manager and worker pool below it, the GCS above it (job configs, the change feed,
// resource reports, failure reports).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "boost/asio/steady_timer.hpp"
#include "src/common/event_loop.h"
#include "src/common/working_dirs.h"
#include "src/gcs/client/gcs_client.h"
#include "src/object_store/store.h"
#include "src/raylet/bundle_manager.h"
#include "src/raylet/cluster_view.h"
#include "src/raylet/lease_manager.h"
#include "src/raylet/memory_monitor.h"
#include "src/raylet/node_manager_handler.h"
#include "src/raylet/node_resources.h"
#include "src/raylet/worker_pool.h"

namespace orrery::raylet {

// Owned and called by the raylet event loop only.
class NodeManager final : public NodeManagerHandler {
 public:
  struct Options {
    NodeId node_id;
    std::string node_ip;
    std::string gcs_address;
    LeaseManager::Options leases;
    WorkerPool::Options pool;
    int64_t report_period_ms = 1000;
    int64_t gcs_lost_timeout_ms = 60'000;
    std::string object_store_socket;
    // Where jobs' working_dir packages are unpacked (one folder per package).
    std::string working_dir_root;
    // A worker or driver (of this node or another) is gone: what it owned in the object store goes.
    std::function<void(const WorkerId&)> on_owner_died;
    // The object store's counters, for the usage reports (unset: none reported).
    std::function<object_store::StoreCounters()> store_counters;
    // What the node's TLS directory trusts now, sent with each report (unset, or nothing: plain
    // TCP); and how to renew its certificate at once, which the GCS asks for while the cluster CA
    // rotates (unset when the node does not renew its own: a --tls-dir whose owner renews it).
    std::function<std::optional<rpc::NodeTrust>()> trust;
    std::function<void()> renew_certificate_now;
    // Off by default here (tests of the node manager); the raylet turns it on.
    MemoryMonitor::Options memory{0.95, 0, {}};
  };
  // Called when the raylet must exit: the GCS declared it dead or has been gone too long.
  using FatalCallback = std::function<void(const std::string& why)>;

  NodeManager(boost::asio::io_context& io, Options options, ResourceSet total, gcs::GcsClient& gcs,
              FatalCallback on_fatal);

  void Start();
  void Stop();
  // What this node registered with, and the cluster and GCS instance that answered. A GCS that
  // restarted (a report's reply names another instance, or answers NotFound: it does not know
  // the node) gets the registration again, with what this node hosts (its leases and bundles);
  // one that serves another cluster now (restarted without its storage) ends this raylet.
  void SetRegistration(rpc::RegisterNodeRequest registration, std::string cluster_id, std::string gcs_instance_id);

  // The GCS change feed.
  void OnNodeMessage(const rpc::PubsubMessage& message);
  void OnJobMessage(const rpc::PubsubMessage& message);
  // Another node's total and available resources changed.
  void OnResourceViewMessage(const rpc::PubsubMessage& message);
  void OnWorkerDeathMessage(const rpc::PubsubMessage& message);

  void HandleRequestWorkerLease(const rpc::RequestWorkerLeaseRequest& request, rpc::RequestWorkerLeaseReply* reply,
                                ReplyCallback done) override;
  void HandleReleaseLeasesOfHolder(const rpc::ReleaseLeasesOfHolderRequest& request,
                                   rpc::ReleaseLeasesOfHolderReply* reply, ReplyCallback done) override;
  void HandleCancelWorkerLease(const rpc::CancelWorkerLeaseRequest& request, rpc::CancelWorkerLeaseReply* reply,
                               ReplyCallback done) override;
  void HandleReturnWorker(const rpc::ReturnWorkerRequest& request, rpc::ReturnWorkerReply* reply,
                          ReplyCallback done) override;
  void HandleRegisterWorker(const rpc::RegisterWorkerRequest& request, rpc::RegisterWorkerReply* reply,
                            ReplyCallback done) override;
  void HandleNotifyWorkerBlocked(const rpc::NotifyWorkerBlockedRequest& request,
                                 rpc::NotifyWorkerBlockedReply* reply, ReplyCallback done) override;
  void HandleHealthCheck(const rpc::HealthCheckRequest& request, rpc::HealthCheckReply* reply,
                         ReplyCallback done) override;
  void HandleGetNodeStats(const rpc::GetNodeStatsRequest& request, rpc::GetNodeStatsReply* reply,
                          ReplyCallback done) override;

  // For `orrery memory`: see WorkerPool::RegisteredProcesses.
  std::vector<std::shared_ptr<const Worker>> RegisteredProcesses() const { return pool_.RegisteredProcesses(); }
  // For /metrics (on the loop): the pool's starts.
  const WorkerPool& pool() const { return pool_; }

  // BundleService: placement-group bundles, reserved by the GCS (see bundle_manager.h).
  absl::StatusOr<rpc::PrepareBundlesReply> PrepareBundles(const rpc::PrepareBundlesRequest& request);
  absl::Status CommitBundles(const rpc::CommitBundlesRequest& request);
  rpc::CancelBundlesReply CancelBundles(const rpc::CancelBundlesRequest& request);

 private:
  std::optional<JobLaunch> FindJob(const JobId& job_id) const;
  // OK once the job is known here and running.
  void CheckJob(const JobId& job_id, std::function<void(absl::Status)> done);
  // OK once the job's working_dir (if any) is unpacked on this node, before a worker of the
  // job starts here; else a RuntimeEnvSetupError naming this node and the cause.
  void PrepareWorkingDir(const JobId& job_id, std::function<void(absl::Status)> done);
  void FetchPackage(const std::string& package, std::function<void(absl::StatusOr<std::string>)> done);
  // A job using `package` ended: its folder here is deleted unless a running job uses it too.
  void ReleaseWorkingDir(const std::string& package);
  void OnProcessDeath(const std::shared_ptr<Worker>& worker, rpc::ExitType exit_type, const std::string& detail);
  // The host's memory use is over the threshold: one worker is killed, unless the last one
  // killed has not exited yet (its memory is not free until it has).
  void OnMemoryPressure(const MemoryUsage& usage);
  void ScheduleReport(int64_t delay_ms);
  // Registers again with a GCS that restarted (`why`), reporting what this node hosts.
  void Reregister(const char* why);
  void ReportUsage();
  // This node's resources changed outside a lease: queued leases may fit, others must learn.
  void OnResourcesChanged(bool report_soon);
  // How soon a change is reported: a new bundle (others route work to it) and anything else.
  static constexpr int64_t kPromptReportMs = 5;
  static constexpr int64_t kChangeReportMs = 50;

  boost::asio::io_context& io_;
  const Options options_;
  gcs::GcsClient& gcs_;
  FatalCallback on_fatal_;
  NodeResources resources_;
  ClusterView cluster_;
  WorkerPool pool_;
  LeaseManager leases_;
  BundleManager bundles_;
  WorkingDirs working_dirs_;
  MemoryMonitor memory_monitor_;
  std::weak_ptr<Worker> last_killed_for_memory_;
  int64_t oom_kills_ = 0;
  bool warned_nothing_to_kill_ = false;
  absl::flat_hash_map<JobId, rpc::JobInfo> jobs_;
  absl::flat_hash_map<JobId, std::vector<std::function<void(absl::Status)>>> job_fetches_;
  absl::flat_hash_map<NodeId, bool> snapshot_nodes_;
  boost::asio::steady_timer report_timer_;
  // When the next report is due (monotonic ms), 0 when none is scheduled.
  int64_t report_due_ms_ = 0;
  // The number of the last report built (NodeResourceUsage.report_seq).
  int64_t report_seq_ = 0;
  rpc::RegisterNodeRequest registration_;
  std::string cluster_id_;
  std::string gcs_instance_id_;
  bool reregistering_ = false;
  int64_t last_report_ok_ms_ = 0;
  bool stopped_ = false;
};

}  // namespace orrery::raylet
