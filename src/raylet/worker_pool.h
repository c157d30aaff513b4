// WorkerPool: the worker processes of one node. Starts them (through the WorkerLauncher),
// hands idle ones out by key, keeps them within their caps, reaps idle ones, watches every
// process through a pidfd and reports each death once.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "orrery/gcs.pb.h"
#include "src/metrics/registry.h"
#include "src/raylet/worker.h"
#include "src/raylet/worker_provider.h"
#include "src/raylet/worker_launcher.h"

namespace orrery::raylet {

// Owned and called by the raylet event loop only (it starts processes from that thread, so
// they die with it).
class WorkerPool final : public WorkerProvider {
 public:
  struct Options {
    // How workers are started: node, raylet socket, GCS, token, session and logs.
    WorkerLauncher::Options launch;
    // Task workers may number this many plus the CPUs lent by blocked workers.
    int task_worker_cap = 1;
    int max_actor_workers = 1000;
    bool prestart = true;
    int64_t idle_timeout_ms = 60'000;
    int64_t start_timeout_ms = 30'000;
    int64_t kill_grace_ms = 2'000;
    int64_t housekeeping_period_ms = 250;
  };
  // How this node starts the job's workers, or nullopt when it does not know the job.
  using JobLookup = std::function<std::optional<JobLaunch>(const JobId&)>;
  using DeathCallback =
      std::function<void(const std::shared_ptr<Worker>&, rpc::ExitType exit_type, const std::string& detail)>;

  WorkerPool(boost::asio::io_context& io, Options options, JobLookup jobs, DeathCallback on_death);
  ~WorkerPool();

  void Start();

  // Hands `done` an idle worker of `key`, starting one if needed (within the caps). Fails when
  // the worker program cannot start, or the job ends first.
  void PopWorker(const WorkerKey& key, PopCallback done) override;
  // A lease ended: the worker is idle again.
  void PushWorker(const std::shared_ptr<Worker>& worker) override;
  // Ends a worker on purpose: SIGTERM, then SIGKILL after the grace period.
  void KillWorker(const std::shared_ptr<Worker>& worker, const std::string& reason) override;
  // Kills `worker` with SIGKILL at once for the memory monitor; its death is reported as
  // OUT_OF_MEMORY with `reason`.
  void KillForMemory(const std::shared_ptr<Worker>& worker, const std::string& reason);

  // A started worker (or a driver of this node) says it is ready.
  absl::Status RegisterWorker(const rpc::RegisterWorkerRequest& request);

  void OnJobFinished(const JobId& job_id);
  // CPUs currently lent by blocked workers raise the task-worker cap by as many.
  void SetLentCpus(int lent) override;

  // Ends every process (workers, zygotes), waiting up to the grace period.
  void Stop();

  std::shared_ptr<Worker> Find(const WorkerId& worker_id) const override;
  void FillStats(rpc::GetNodeStatsReply* reply) const;
  // The drivers and workers that have registered (they serve on their port) and are not ending.
  std::vector<std::shared_ptr<const Worker>> RegisteredProcesses() const;
  int num_workers() const;
  int num_zygotes() const { return launcher_.num_zygotes(); }
  // For /metrics: workers started, starts that failed (the program did not run, or the process
  // ended or was ended before it registered), and the seconds from start to registration.
  uint64_t workers_started() const { return workers_started_; }
  uint64_t worker_start_failures() const { return worker_start_failures_; }
  metrics::HistogramSample worker_start_seconds() const { return start_seconds_.Read(); }

 private:
  bool CanStart(const WorkerKey& key) const;
  int CountWorkers(bool actor) const;
  int CountStarting(const WorkerKey& key) const;
  void MaybeStartWorkers(const WorkerKey& key);
  void StartPending();
  void StartWorker(const WorkerKey& key);
  void Prestart(const WorkerKey& key);
  bool EvictIdleWorkerOtherThan(const WorkerKey& key);
  void ServeWaiting(const WorkerKey& key);

  WorkerLauncher::Callbacks LauncherCallbacks();
  void OnStarted(const WorkerId& worker_id, pid_t pid, int pidfd, bool is_child);
  void OnStartFailed(const WorkerId& worker_id, const absl::Status& status);
  void OnExitStatus(pid_t pid, int wait_status);
  void OnZygoteLost(const JobId& job_id, const EnvVars& env_vars);

  void Watch(const std::shared_ptr<Worker>& worker, pid_t pid);
  void OnPidfdReadable(const WorkerId& worker_id);
  static bool DiedBeforeEnded(const Worker& worker);
  void HandleDeath(const std::shared_ptr<Worker>& worker);
  void FailOneWaiter(const WorkerKey& key, const absl::Status& status);
  void RemoveIdle(const Worker& worker);
  void Housekeeping();
  void ScheduleHousekeeping();

  boost::asio::io_context& io_;
  const Options options_;
  JobLookup jobs_;
  DeathCallback on_death_;
  absl::flat_hash_map<WorkerId, std::shared_ptr<Worker>> workers_;
  absl::flat_hash_map<pid_t, WorkerId> zygote_children_;
  absl::flat_hash_map<WorkerKey, std::deque<std::shared_ptr<Worker>>> idle_;
  absl::flat_hash_map<WorkerKey, std::deque<PopCallback>> waiting_;
  absl::flat_hash_set<JobId> prestarted_jobs_;
  WorkerLauncher launcher_;
  int lent_cpus_ = 0;
  uint64_t workers_started_ = 0;
  uint64_t worker_start_failures_ = 0;
  metrics::HistogramChild start_seconds_;
  boost::asio::steady_timer housekeeping_timer_;
  bool stopped_ = false;
};

}  // namespace orrery::raylet
