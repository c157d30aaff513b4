// WorkerPool: the worker processes of one node. Starts them (forked from a per-job zygote, or
// exec'd when the zygote cannot fork), hands idle ones out by key, reaps idle ones, watches
// every process through a pidfd and reports each death once.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "orrery/gcs.pb.h"
#include "src/raylet/worker.h"
#include "src/raylet/worker_provider.h"
#include "src/raylet/zygote_client.h"

namespace orrery::raylet {

// Owned and called by the raylet event loop only (it starts processes from that thread, so
// they die with it).
class WorkerPool final : public WorkerProvider {
 public:
  struct Options {
    NodeId node_id;
    std::string node_ip;
    std::string raylet_socket;   // unix:/path for local workers
    std::string gcs_address;
    std::string token;
    std::string session_dir;
    std::string logs_dir;
    // Task workers may number this many plus the CPUs lent by blocked workers.
    int task_worker_cap = 1;
    int max_actor_workers = 1000;
    bool prestart = true;
    int64_t idle_timeout_ms = 60'000;
    int64_t start_timeout_ms = 30'000;
    int64_t kill_grace_ms = 2'000;
    int64_t housekeeping_period_ms = 250;
  };
  // The job's config, or nullptr when this node does not know the job.
  using JobLookup = std::function<const rpc::JobConfig*(const JobId&)>;
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

  // A started worker (or a driver of this node) says it is ready.
  absl::Status RegisterWorker(const rpc::RegisterWorkerRequest& request);

  void OnJobFinished(const JobId& job_id);
  // CPUs currently lent by blocked workers raise the task-worker cap by as many.
  void SetLentCpus(int lent) override;

  // Ends every process (workers, zygotes), waiting up to the grace period.
  void Stop();

  std::shared_ptr<Worker> Find(const WorkerId& worker_id) const override;
  void FillStats(rpc::GetNodeStatsReply* reply) const;
  int num_workers() const;
  int num_zygotes() const { return static_cast<int>(zygotes_.size()); }

 private:
  struct ZygoteKey {
    JobId job_id;
    std::string runtime_env_hash;
    friend bool operator==(const ZygoteKey&, const ZygoteKey&) = default;
    template <typename H>
    friend H AbslHashValue(H h, const ZygoteKey& k) {
      return H::combine(std::move(h), k.job_id, k.runtime_env_hash);
    }
  };
  struct Zygote {
    enum class State { kStarting, kReady };
    std::unique_ptr<ZygoteClient> client;
    State state = State::kStarting;
    std::vector<std::shared_ptr<Worker>> queued;  // waiting for the zygote's hello
  };

  bool CanStart(const WorkerKey& key) const;
  int CountWorkers(bool actor) const;
  int CountStarting(const WorkerKey& key) const;
  void MaybeStartWorkers(const WorkerKey& key);
  void StartPending();
  void StartWorker(const WorkerKey& key);
  void Prestart(const WorkerKey& key);
  bool EvictIdleWorkerOtherThan(const WorkerKey& key);
  void ServeWaiting(const WorkerKey& key);

  std::map<std::string, std::string> BaseEnvironment(const rpc::JobConfig& job, const JobId& job_id) const;
  std::map<std::string, std::string> WorkerEnvironment(const Worker& worker) const;
  void ExecWorker(const std::shared_ptr<Worker>& worker, const rpc::JobConfig& job);
  void ForkWorker(const std::shared_ptr<Worker>& worker, Zygote& zygote);
  Zygote* GetOrStartZygote(const WorkerKey& key, const rpc::JobConfig& job);
  // By value: the key may live in the callback of the client these retire.
  void OnZygoteHello(ZygoteKey zkey, int threads);
  void OnZygoteLost(ZygoteKey zkey, const std::string& why);
  void RetireZygote(const ZygoteKey& zkey);

  void Watch(const std::shared_ptr<Worker>& worker, pid_t pid);
  void OnPidfdReadable(const WorkerId& worker_id);
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
  absl::flat_hash_map<ZygoteKey, Zygote> zygotes_;
  absl::flat_hash_set<JobId> prestarted_jobs_;
  // Jobs whose program had threads before it could fork: every worker is exec'd.
  absl::flat_hash_set<JobId> exec_only_jobs_;
  int lent_cpus_ = 0;
  boost::asio::steady_timer housekeeping_timer_;
  bool stopped_ = false;
};

}  // namespace orrery::raylet
