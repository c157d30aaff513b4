// TaskSubmitter: how an owner runs its tasks. Tasks are grouped by scheduling key (their
// resource shape); for each key it leases workers from the raylet, opens a persistent stream to
// each, and pushes tasks down the least busy one (see docs/design/task-pipelining.md). A worker
// that goes free (a lease granted, its tasks done) takes back, from a busy worker of its key,
// tasks queued there that have not started (work stealing). Idle leases are kept for a while (a
// loop of Get(Task(f).Remote()) reuses one), then returned: at once when a raylet says another
// request waits for what they hold (YieldIdleLeases). A task whose worker dies is retried on
// another up to its retry budget, then fails with WorkerCrashedError; a task that threw is
// retried too when it asked to be (SetRetryExceptions), within the same budget (retry_policy.h).
// Past a bound of pending
// tasks or argument bytes, Submit() blocks until there is room.
// Thread-safe: Submit() runs on user threads, lease answers on the core worker's loop, stream
// events on gRPC threads; one mutex guards the state, and nothing blocks under it (stream
// writes and lease requests are only started there; callbacks run outside it).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <tuple>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/steady_timer.hpp"
#include "orrery/core_worker.grpc.pb.h"
#include "src/common/event_loop.h"
#include "src/common/id.h"
#include "src/common/placement_group.h"
#include "src/common/resource_set.h"
#include "src/core_worker/remote_raylets.h"
#include "src/core_worker/retry_policy.h"
#include "src/core_worker/worker_stream.h"
#include "src/core_worker/worker_stubs.h"
#include "src/raylet/client/raylet_client.h"

namespace orrery::core {

// Tasks that share leased workers: the same resource shape, the same placement rule, and the
// same node holding their large arguments.
struct SchedulingKey {
  ResourceSet resources;
  std::string strategy;  // rpc::SchedulingStrategy, serialized ("" for the default)
  // HOST:PORT of the raylet of the node holding the tasks' large arguments, asked first for
  // their leases (it grants, or spills back like any raylet); "" for this node's raylet.
  std::string near;
  // The tasks' environment variables (runtime_env env_vars): only workers started with exactly
  // these run them.
  std::map<std::string, std::string> env_vars;

  friend bool operator<(const SchedulingKey& a, const SchedulingKey& b) {
    return std::tie(a.resources, a.strategy, a.near, a.env_vars) < std::tie(b.resources, b.strategy, b.near, b.env_vars);
  }
  // "{CPU: 1}", or "{CPU: 1} (kind: SPREAD)", or "{CPU: 1} near 10.0.0.2:4000 env {A=1}".
  std::string ToString() const;
};

class TaskSubmitter {
 public:
  struct Options {
    // How long an idle lease is kept before it is returned.
    int64_t idle_lease_ms = 1000;
    // Lease requests in flight per scheduling key.
    int max_pending_lease_requests = 10;
    // Tasks pushed to one worker and not yet answered: at least this, more for a deep queue.
    int max_tasks_in_flight_per_worker = 100;
    // Retries of a task whose worker died, unless it set its own (SetMaxRetries).
    int max_system_retries = kDefaultTaskRetries;
    // A worker's stream broke with tasks in flight: how long they wait for the WORKER_DEATH
    // feed to say why (an OOM kill retries after a back-off) before they go on as after a crash.
    int64_t death_notice_wait_ms = 2'000;
    // Why workers died, kept for a stream that breaks after the feed told: the latest this many
    // (a note matters for milliseconds; the feed reports every worker of the cluster).
    int max_death_notes = 10'000;
    // Backpressure: Submit() blocks past these.
    int64_t max_pending_tasks = 100'000;
    int64_t max_pending_arg_bytes = 1LL << 30;
    // How long one lease request is held open by the raylet.
    int64_t lease_wait_ms = 10'000;
    std::string cluster_token;
    rpc::RpcOptions rpc;
  };
  struct Callbacks {
    // A task finished: its result (a value or a stored error), on a gRPC thread, with the
    // resource shape it ran with (null for an actor call).
    std::function<void(const rpc::TaskSpec&, rpc::SerializedObject&&, const ResourceSet*)> on_result;
    // A task failed for good (its worker died and retries ran out, or no worker could start).
    std::function<void(const rpc::TaskSpec&, const rpc::ErrorInfo&)> on_failed;
    // A task was sent to a leased worker (under the submitter's lock: must only record).
    std::function<void(const rpc::TaskSpec&, const rpc::WorkerAddress&)> on_dispatched;
    // An attempt of a task failed (its worker died) and the next one is queued (under the
    // submitter's lock: must only record).
    std::function<void(const rpc::TaskSpec& failed_attempt, const rpc::ErrorInfo&)> on_retried;
    // Tasks of this placement group wait where no node holds its resources: it may have been
    // removed by another process. The owner asks, and calls OnPlacementGroupRemoved if so.
    std::function<void(const PlacementGroupId&)> on_group_unplaceable;
  };

  // `remote_raylets`: the raylets of other nodes, for leases near arguments and after spillback.
  TaskSubmitter(Options options, std::shared_ptr<EventLoop> loop, rpc::WorkerAddress self, JobId job_id,
                std::shared_ptr<raylet::RayletClient> local_raylet, std::shared_ptr<RemoteRaylets> remote_raylets,
                Callbacks callbacks);
  ~TaskSubmitter();

  // Queues `task` for a worker with `resources`. Blocks while the owner is past its bounds.
  void Submit(rpc::TaskSpec task, const ResourceSet& resources);
  // Submit in two steps, for an owner that must resolve arguments in between: Admit() blocks
  // for room and counts `bytes` as pending; Push() queues without blocking (any thread).
  void Admit(int64_t bytes);
  // Admit without waiting for room: for a re-run of a task whose result was lost (lineage
  // reconstruction), which tasks holding room may be waiting for.
  void AdmitNow(int64_t bytes);
  // `near`: see SchedulingKey::near.
  void Push(rpc::TaskSpec task, const ResourceSet& resources, int64_t admitted_bytes, std::string near = "");

  // A worker died (the WORKER_DEATH feed): why, for how its tasks go on (an OOM kill is
  // retried after a back-off) and the error they get when their retries run out.
  void NoteWorkerDeath(const WorkerId& worker, rpc::ExitType exit_type, const std::string& detail);
  // This process removed `group`: its queued tasks, and any submitted or retried into it
  // later, fail with UNSCHEDULABLE naming it (the raylets no longer hold its resources).
  void OnPlacementGroupRemoved(const PlacementGroupId& group);

  // A raylet asks for these leases back: another request waits there for what they hold. Each
  // one idle goes back now, each busy one as soon as it goes idle (unknown ids are ignored).
  void YieldIdleLeases(const std::vector<LeaseId>& leases);
  // Whether this submitter holds `lease`, or still waits for its grant: a raylet takes back
  // those it does not (a grant whose replies were all lost, a return that never arrived).
  bool Holds(const LeaseId& lease) const;

  // Fails what is queued, cancels lease requests, returns leases, waits for the streams to end.
  void Stop();
  // Blocks until the stream of every worker returned so far has ended (and been accounted for).
  void WaitForWorkerStreamsToEnd();

  int num_leased_workers() const;
  int64_t num_pending_tasks() const;
  size_t num_scheduling_keys() const;
  size_t num_death_notes() const;

 private:
  struct Pending {
    rpc::TaskSpec task;
    int64_t arg_bytes = 0;
    // How many of its attempts the memory monitor killed: the next retry's back-off grows.
    int oom_kills = 0;
  };
  // Why a worker died, from the WORKER_DEATH feed.
  struct DeathNote {
    rpc::ExitType exit_type = rpc::UNEXPECTED_EXIT;
    std::string detail;
  };
  struct LeasedWorker {
    LeaseId lease_id;
    rpc::WorkerAddress address;
    std::shared_ptr<raylet::RayletClient> raylet;
    std::shared_ptr<WorkerStream> stream;
    absl::flat_hash_map<TaskId, Pending> in_flight;
    int64_t idle_since_ms = 0;
    bool dead = false;
    // Asked to give back tasks not yet started; the answer has not come.
    bool stealing = false;
    // Its last answer gave nothing back (what it holds had started): not asked again until
    // results come from it, or owner and worker would trade empty steals while a task runs.
    bool nothing_to_steal = false;
    // Its raylet asked for it back (YieldIdleLeases): it takes no new task and is returned once
    // idle, not kept for reuse.
    bool yield_when_idle = false;
    // Its running task waits for other work (ResultBatch.running): it gave back what waited
    // behind it and takes no new task until it runs again.
    bool blocked = false;
    bool idle() const { return !dead && in_flight.empty(); }
    // Tasks wait here behind the one running (of those in flight, at most one runs).
    bool holds_waiting() const { return in_flight.size() >= 2; }
  };
  struct Key {
    SchedulingKey scheduling;
    // What every lease request of the key asks (resources, strategy, environment, holder),
    // built once: a request only adds its id.
    rpc::LeaseSpec lease;
    std::deque<Pending> queue;
    std::vector<std::shared_ptr<LeasedWorker>> workers;
    absl::flat_hash_map<LeaseId, std::shared_ptr<raylet::RayletClient>> pending_leases;
    // Pending requests not yet answered "queued": a worker may be on its way. While any is,
    // tasks wait for an idle worker instead of queueing behind a busy one (so they run in
    // parallel); once the node is known to be full they pipeline onto the workers held.
    absl::flat_hash_set<LeaseId> fresh_leases;
    // The raylet of scheduling.near, once asked; given up on when it cannot be reached.
    std::shared_ptr<raylet::RayletClient> near_raylet;
    bool near_unreachable = false;
  };

  // A worker whose stream broke with tasks in flight, before the feed said why it died.
  struct LostWorker {
    std::shared_ptr<LeasedWorker> worker;
    SchedulingKey scheduling;
    std::string stream_error;
    int64_t deadline_ms = 0;  // then its tasks go on as after a crash
  };
  // A retry waiting out its back-off (after an OOM kill).
  struct DelayedRetry {
    SchedulingKey scheduling;
    Pending pending;
    int64_t due_ms = 0;
  };

  // The key of `scheduling`, made (with its lease spec) if it is new or was forgotten.
  Key& KeyLocked(const SchedulingKey& scheduling) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Nothing queued, leased or asked for: the key is forgotten (the next task of its shape makes
  // it again), or an owner whose tasks come in ever new shapes (a placement group or a node
  // affinity each) would grow without bound. Tasks a dead worker held make it again as well.
  static bool Unused(const Key& key);
  void ForgetUnusedKeysLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetIfUnusedLocked(const SchedulingKey& scheduling) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DispatchLocked(Key& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Asks for a lease per queued task, up to max_pending_lease_requests.
  void RequestLeasesLocked(Key& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RequestNewLeaseLocked(Key& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Nothing is queued for `key` and a worker of it is free: asks its busiest workers for tasks
  // they hold that have not started.
  void StealForIdleLocked(Key& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Nothing of `key` waits: none queued here, none behind a busy worker.
  static bool NothingWaitsLocked(const Key& key);
  // Cancels the key's lease requests: nothing is left that a worker granted now could run.
  void WithdrawLeaseRequestsLocked(Key& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void CancelLeaseRequest(raylet::RayletClient& raylet, const LeaseId& lease_id);
  // A request that failed on this side: cancelled at the raylet, and its worker returned if the
  // raylet granted it after all.
  static void GiveUpLease(const std::shared_ptr<raylet::RayletClient>& raylet, const LeaseId& lease_id);
  // Takes the tasks `worker` gave back out of its in-flight set, to the front of the queue.
  void TakeBackLocked(Key& key, LeasedWorker& worker, const rpc::StolenTasks& stolen)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes the idle workers asked back from `key`, into `out` (to be returned unlocked).
  void TakeYieldingLocked(Key& key, std::vector<std::shared_ptr<LeasedWorker>>& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `spilled_back`: another raylet chose this one; it grants or queues, never sends us on.
  void RequestLease(const Key& key, const LeaseId& lease_id, std::shared_ptr<raylet::RayletClient> raylet,
                    bool answer_if_queued, bool spilled_back);
  void OnLeaseReply(const SchedulingKey& scheduling, const LeaseId& lease_id,
                    const std::shared_ptr<raylet::RayletClient>& raylet,
                    absl::StatusOr<rpc::RequestWorkerLeaseReply> reply);
  // `unwanted`: the request was withdrawn (nothing was left for it) as the grant crossed it.
  void OnGranted(Key& key, const LeaseId& lease_id, const std::shared_ptr<raylet::RayletClient>& raylet,
                 const rpc::RequestWorkerLeaseReply& reply, bool unwanted) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnResults(const std::shared_ptr<LeasedWorker>& worker, const SchedulingKey& scheduling,
                 rpc::ResultBatch& results);
  void OnStreamDone(const std::shared_ptr<LeasedWorker>& worker, const SchedulingKey& scheduling,
                    const grpc::Status& status);
  // The tasks in flight on a dead `worker` of `key`: retried (at once, or after a back-off for
  // an OOM kill) within their budgets, else failed with the error its `death` calls for.
  void ResolveLostLocked(LeasedWorker& worker, Key& key, const DeathNote& death,
                         std::vector<std::pair<rpc::TaskSpec, rpc::ErrorInfo>>& failed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // On the idle timer: retries whose back-off ended are queued; lost workers whose death
  // notice did not come in time are resolved as crashed.
  void OnDueLocked(std::vector<std::pair<rpc::TaskSpec, rpc::ErrorInfo>>& failed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(const Pending& pending) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts attempts that failed back at the front of `key`'s queue, in submission order.
  void RequeueLocked(Key& key, std::vector<Pending> retry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The placement group `resources` name, when this process removed it.
  std::optional<PlacementGroupId> RemovedGroupLocked(const ResourceSet& resources) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FailQueuedLocked(Key& key, const rpc::ErrorInfo& error,
                        std::vector<std::pair<rpc::TaskSpec, rpc::ErrorInfo>>& failed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleIdleCheck();
  void ReturnIdleLeases();
  void ReturnLease(const std::shared_ptr<LeasedWorker>& worker, bool kill);
  // Closes the streams of idle workers and returns their leases (outside the lock).
  void ReturnIdle(const std::vector<std::shared_ptr<LeasedWorker>>& idle);

  const Options options_;
  std::shared_ptr<EventLoop> loop_;
  const rpc::WorkerAddress self_;
  const JobId job_id_;
  std::shared_ptr<raylet::RayletClient> local_raylet_;
  const std::shared_ptr<RemoteRaylets> remote_raylets_;
  Callbacks callbacks_;
  rpc::InFlight streams_;
  boost::asio::steady_timer idle_timer_;

  mutable absl::Mutex mu_;
  // Placement groups this process removed: their tasks can never run again.
  absl::flat_hash_set<PlacementGroupId> removed_groups_ ABSL_GUARDED_BY(mu_);
  absl::CondVar room_;
  std::map<SchedulingKey, Key> keys_ ABSL_GUARDED_BY(mu_);
  int64_t pending_tasks_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t pending_arg_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  WorkerStubs stubs_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<WorkerId, DeathNote> death_notes_ ABSL_GUARDED_BY(mu_);
  // The workers of death_notes_, oldest first: at most Options::max_death_notes are kept.
  std::deque<WorkerId> death_order_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<WorkerId, LostWorker> awaiting_notice_ ABSL_GUARDED_BY(mu_);
  std::vector<DelayedRetry> delayed_ ABSL_GUARDED_BY(mu_);
  // Pending lease requests a raylet asked back before its grant arrived (see YieldIdleLeases).
  absl::flat_hash_set<LeaseId> yield_on_grant_ ABSL_GUARDED_BY(mu_);
};

}  // namespace orrery::core
