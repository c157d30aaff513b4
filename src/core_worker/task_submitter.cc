#include "src/core_worker/task_submitter.h"

#include <algorithm>
#include <future>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/common/clock.h"
#include "src/common/log.h"
#include "src/common/placement_group.h"
#include "src/core_worker/retry_policy.h"
#include "src/core_worker/task_errors.h"

namespace orrery::core {

namespace {

// The most tasks one worker may hold unanswered however deep its submitter's queue.
constexpr size_t kDeepestWindow = 1000;

// How many tasks one worker may hold unanswered: the configured window, or the submitter's fair
// share of what it has to run (queued and in flight, over its live workers) up to
// kDeepestWindow, whichever is larger. A submitter with a deep queue then keeps its workers fed
// through the moments its own process waits for a core, while a short batch still spreads over
// the workers. On 2 vCPUs, four submitters of 10,000 tasks each ran at 17k tasks/s with a fixed
// window of 100 and 32-50k with 300-1000; a fixed 1000 slowed a batch of 1,000 on two workers.
size_t WorkerWindow(size_t configured, size_t to_run, size_t live_workers) {
  size_t share = (to_run + live_workers - 1) / std::max<size_t>(live_workers, 1);
  return std::max(configured, std::min(share, kDeepestWindow));
}

// Why the tasks of `scheduling` fail, from a lease answered UNSCHEDULABLE or
// RUNTIME_ENV_SETUP_FAILED.
rpc::ErrorInfo LeaseFailure(const SchedulingKey& scheduling, const rpc::RequestWorkerLeaseReply& reply) {
  rpc::ErrorInfo error;
  if (reply.result() == rpc::RequestWorkerLeaseReply::UNSCHEDULABLE) {
    error.set_type(rpc::ErrorInfo::UNSCHEDULABLE);
    error.set_message(absl::StrCat("no node may run tasks of ", scheduling.ToString(), ": ", reply.failure_message()));
  } else {
    error.set_type(rpc::ErrorInfo::RUNTIME_ENV_SETUP_FAILED);
    error.set_message(reply.failure_message());
  }
  return error;
}
// The call never reached a live raylet (as opposed to an answer from one).
bool IsUnreachable(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

}  // namespace

TaskSubmitter::TaskSubmitter(Options options, std::shared_ptr<EventLoop> loop, rpc::WorkerAddress self, JobId job_id,
                             std::shared_ptr<raylet::RayletClient> local_raylet,
                             std::shared_ptr<RemoteRaylets> remote_raylets, Callbacks callbacks)
    : options_(std::move(options)),
      loop_(std::move(loop)),
      self_(std::move(self)),
      job_id_(job_id),
      local_raylet_(std::move(local_raylet)),
      remote_raylets_(std::move(remote_raylets)),
      callbacks_(std::move(callbacks)),
      idle_timer_(loop_->io()),
      stubs_(options_.rpc, options_.cluster_token, NodeId::FromOptionalBinary(self_.node_id()).value_or(NodeId())) {
  loop_->Post([this] { ScheduleIdleCheck(); });
}

TaskSubmitter::~TaskSubmitter() { Stop(); }

std::string SchedulingKey::ToString() const {
  std::string text = resources.ToString();
  if (!strategy.empty()) {
    rpc::SchedulingStrategy parsed;
    parsed.ParseFromString(strategy);
    absl::StrAppend(&text, " (", parsed.ShortDebugString(), ")");
  }
  if (!near.empty()) absl::StrAppend(&text, " near ", near);
  if (!env_vars.empty()) absl::StrAppend(&text, " env {", absl::StrJoin(env_vars, ", ", absl::PairFormatter("=")), "}");
  return text;
}

TaskSubmitter::Key& TaskSubmitter::KeyLocked(const SchedulingKey& scheduling) {
  auto [it, made] = keys_.try_emplace(scheduling);
  Key& key = it->second;
  if (made) {
    key.scheduling = scheduling;
    key.lease.set_job_id(job_id_.Binary());
    scheduling.resources.ToProto(key.lease.mutable_resources());
    key.lease.mutable_strategy()->ParseFromString(scheduling.strategy);
    for (const auto& [name, value] : scheduling.env_vars) (*key.lease.mutable_env_vars())[name] = value;
    *key.lease.mutable_holder() = self_;
  }
  return key;
}

bool TaskSubmitter::Unused(const Key& key) {
  return key.queue.empty() && key.workers.empty() && key.pending_leases.empty();
}

void TaskSubmitter::ForgetUnusedKeysLocked() {
  for (auto it = keys_.begin(); it != keys_.end();) {
    it = Unused(it->second) ? keys_.erase(it) : std::next(it);
  }
}

void TaskSubmitter::ForgetIfUnusedLocked(const SchedulingKey& scheduling) {
  auto it = keys_.find(scheduling);
  if (it != keys_.end() && Unused(it->second)) keys_.erase(it);
}

// ---- submitting ----

void TaskSubmitter::Submit(rpc::TaskSpec task, const ResourceSet& resources) {
  int64_t bytes = static_cast<int64_t>(task.ByteSizeLong());
  Admit(bytes);
  Push(std::move(task), resources, bytes);
}

void TaskSubmitter::Admit(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  // Backpressure: wait for room (a single task larger than the byte bound still goes alone).
  while (!stopped_ && (pending_tasks_ >= options_.max_pending_tasks ||
                       (pending_tasks_ > 0 && pending_arg_bytes_ + bytes > options_.max_pending_arg_bytes))) {
    room_.Wait(&mu_);
  }
  ++pending_tasks_;
  pending_arg_bytes_ += bytes;
}

void TaskSubmitter::AdmitNow(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  ++pending_tasks_;
  pending_arg_bytes_ += bytes;
}

void TaskSubmitter::Push(rpc::TaskSpec task, const ResourceSet& resources, int64_t admitted_bytes, std::string near) {
  rpc::ErrorInfo error = CrashError("Orrery is shutting down");
  {
    absl::MutexLock lock(&mu_);
    std::optional<PlacementGroupId> removed = RemovedGroupLocked(resources);
    if (removed.has_value()) {
      error = RemovedGroupError(*removed);
    } else if (!stopped_) {
      Key& key = KeyLocked(SchedulingKey{resources, task.strategy().SerializeAsString(), std::move(near),
                                         {task.env_vars().begin(), task.env_vars().end()}});
      key.queue.push_back(Pending{std::move(task), admitted_bytes});
      DispatchLocked(key);
      return;
    }
    FinishLocked(Pending{rpc::TaskSpec(), admitted_bytes});
  }
  callbacks_.on_failed(task, error);
}

void TaskSubmitter::DispatchLocked(Key& key) {
  size_t to_run = key.queue.size(), live_workers = 0;
  for (const auto& worker : key.workers) {
    to_run += worker->in_flight.size();
    live_workers += !worker->dead;
  }
  const size_t window =
      WorkerWindow(static_cast<size_t>(std::max(options_.max_tasks_in_flight_per_worker, 1)), to_run, live_workers);
  while (!key.queue.empty()) {
    std::shared_ptr<LeasedWorker> best;
    for (const auto& worker : key.workers) {
      // One its raylet asked back takes no new task: another holder waits for what it holds, and
      // a holder with a steady stream of tasks would otherwise keep it for good. One whose task
      // waits takes none either: that task may wait for it.
      if (worker->dead || worker->yield_when_idle || worker->blocked || worker->in_flight.size() >= window) {
        continue;
      }
      if (best == nullptr || worker->in_flight.size() < best->in_flight.size()) best = worker;
    }
    if (best == nullptr) break;
    // Queue behind a busy worker only once the node is known to be full (every lease request
    // pending has been answered "queued"); otherwise a new worker comes for this task.
    if (!best->in_flight.empty() && (key.pending_leases.empty() || !key.fresh_leases.empty())) break;
    Pending pending = std::move(key.queue.front());
    key.queue.pop_front();
    if (callbacks_.on_dispatched) callbacks_.on_dispatched(pending.task, best->address);
    best->stream->Send(pending.task);
    best->in_flight.emplace(TaskId::FromBinary(pending.task.task_id()).value(), std::move(pending));
  }
  if (key.queue.empty()) {
    StealForIdleLocked(key);
  } else {
    RequestLeasesLocked(key);
  }
}

bool TaskSubmitter::NothingWaitsLocked(const Key& key) {
  return key.queue.empty() && std::none_of(key.workers.begin(), key.workers.end(),
                                           [](const auto& worker) { return worker->holds_waiting(); });
}

void TaskSubmitter::WithdrawLeaseRequestsLocked(Key& key) {
  for (const auto& [lease_id, raylet] : key.pending_leases) {
    CancelLeaseRequest(*raylet, lease_id);
    yield_on_grant_.erase(lease_id);
  }
  key.pending_leases.clear();
  key.fresh_leases.clear();
}

void TaskSubmitter::CancelLeaseRequest(raylet::RayletClient& raylet, const LeaseId& lease_id) {
  rpc::CancelWorkerLeaseRequest cancel;
  cancel.set_lease_id(lease_id.Binary());
  raylet.CancelWorkerLease(cancel, [](absl::StatusOr<rpc::CancelWorkerLeaseReply>) {});
}

void TaskSubmitter::GiveUpLease(const std::shared_ptr<raylet::RayletClient>& raylet, const LeaseId& lease_id) {
  rpc::CancelWorkerLeaseRequest cancel;
  cancel.set_lease_id(lease_id.Binary());
  raylet->CancelWorkerLease(cancel, [raylet, lease_id](absl::StatusOr<rpc::CancelWorkerLeaseReply> reply) {
    if (!reply.ok() || !reply->already_granted()) return;
    rpc::ReturnWorkerRequest request;
    request.set_lease_id(lease_id.Binary());
    raylet->ReturnWorker(request, [](absl::StatusOr<rpc::ReturnWorkerReply>) {});
  });
}

void TaskSubmitter::StealForIdleLocked(Key& key) {
  int free_workers = 0;
  // Not one asked back by its raylet: it takes no new task (DispatchLocked).
  for (const auto& worker : key.workers) free_workers += worker->idle() && !worker->yield_when_idle;
  for (; free_workers > 0; --free_workers) {
    // The worker with the most tasks waiting.
    LeasedWorker* busiest = nullptr;
    for (const auto& worker : key.workers) {
      if (worker->dead || worker->stealing || worker->nothing_to_steal || !worker->holds_waiting()) continue;
      if (busiest == nullptr || worker->in_flight.size() > busiest->in_flight.size()) busiest = worker.get();
    }
    if (busiest == nullptr) return;
    // Half of what waits there: both workers then hold about as much.
    int waiting = static_cast<int>(busiest->in_flight.size()) - 1;
    busiest->stealing = true;
    busiest->stream->Steal((waiting + 1) / 2);
  }
}

void TaskSubmitter::TakeBackLocked(Key& key, LeasedWorker& worker, const rpc::StolenTasks& stolen) {
  worker.stealing = false;
  worker.nothing_to_steal = stolen.task_ids_size() == 0;
  std::vector<Pending> back;
  for (const std::string& id : stolen.task_ids()) {
    auto task_id = TaskId::FromBinary(id);
    if (!task_id.ok()) continue;
    auto it = worker.in_flight.find(*task_id);
    if (it == worker.in_flight.end()) continue;
    back.push_back(std::move(it->second));
    worker.in_flight.erase(it);
  }
  // They were submitted before anything still queued, and the worker names them oldest first.
  for (auto it = back.rbegin(); it != back.rend(); ++it) key.queue.push_front(std::move(*it));
}

void TaskSubmitter::RequestLeasesLocked(Key& key) {
  while (static_cast<int>(key.pending_leases.size()) < options_.max_pending_lease_requests &&
         key.pending_leases.size() < key.queue.size()) {
    RequestNewLeaseLocked(key);
  }
}

void TaskSubmitter::RequestNewLeaseLocked(Key& key) {
  LeaseId lease_id = LeaseId::FromRandom();
  std::shared_ptr<raylet::RayletClient> raylet = local_raylet_;
  if (!key.scheduling.near.empty() && !key.near_unreachable) {
    key.near_raylet = remote_raylets_->At(key.scheduling.near);
    raylet = key.near_raylet;
  }
  key.pending_leases[lease_id] = raylet;
  key.fresh_leases.insert(lease_id);
  RequestLease(key, lease_id, raylet, /*answer_if_queued=*/true, /*spilled_back=*/false);
}

// ---- leases ----


void TaskSubmitter::RequestLease(const Key& key, const LeaseId& lease_id, std::shared_ptr<raylet::RayletClient> raylet,
                                 bool answer_if_queued, bool spilled_back) {
  rpc::RequestWorkerLeaseRequest request;
  rpc::LeaseSpec* lease = request.mutable_lease();
  *lease = key.lease;
  lease->set_lease_id(lease_id.Binary());
  lease->set_spilled_back(spilled_back);
  request.set_wait_ms(options_.lease_wait_ms);
  request.set_answer_if_queued(answer_if_queued);
  raylet->RequestWorkerLease(request, [this, scheduling = key.scheduling, lease_id, raylet](
                                          absl::StatusOr<rpc::RequestWorkerLeaseReply> reply) {
    OnLeaseReply(scheduling, lease_id, raylet, std::move(reply));
  });
}

void TaskSubmitter::OnLeaseReply(const SchedulingKey& scheduling, const LeaseId& lease_id,
                                 const std::shared_ptr<raylet::RayletClient>& raylet,
                                 absl::StatusOr<rpc::RequestWorkerLeaseReply> reply) {
  std::vector<std::pair<rpc::TaskSpec, rpc::ErrorInfo>> failed;
  std::vector<std::shared_ptr<LeasedWorker>> yielded;
  bool give_back = false;
  std::optional<PlacementGroupId> unplaceable;
  {
    absl::MutexLock lock(&mu_);
    Key& key = KeyLocked(scheduling);
    if (stopped_) {
      give_back = reply.ok() && reply->result() == rpc::RequestWorkerLeaseReply::GRANTED;
    } else if (!reply.ok()) {
      key.pending_leases.erase(lease_id);
      key.fresh_leases.erase(lease_id);
      spdlog::warn("a lease request for {} failed: {}", scheduling.ToString(), reply.status().message());
      // The raylet may have granted it all the same (every reply lost): it must not keep a
      // worker nobody uses.
      GiveUpLease(raylet, lease_id);
      if (raylet != local_raylet_ && IsUnreachable(reply.status())) {
        // The node it was sent to is gone (or cut off): ask this node again, whose view
        // drops a dead node once the GCS declares it dead.
        if (raylet == key.near_raylet) key.near_unreachable = true;
        DispatchLocked(key);
      } else if (key.workers.empty() && key.pending_leases.empty()) {
        FailQueuedLocked(key, CrashError(absl::StrCat("no worker could be leased for ", scheduling.ToString(), ": ",
                                                      reply.status().message())),
                         failed);
      }
    } else {
      // Withdrawn meanwhile (nothing was left for it): a grant that crossed the cancel is kept
      // like any other, but it is not asked again, nor followed elsewhere.
      const bool withdrawn = !key.pending_leases.contains(lease_id);
      switch (reply->result()) {
        case rpc::RequestWorkerLeaseReply::GRANTED:
          key.pending_leases.erase(lease_id);
          key.fresh_leases.erase(lease_id);
          OnGranted(key, lease_id, raylet, *reply, /*unwanted=*/withdrawn);
          TakeYieldingLocked(key, yielded);
          break;
        case rpc::RequestWorkerLeaseReply::PENDING:
          if (withdrawn) break;
          if (reply->infeasible()) unplaceable = GroupOfDemand(scheduling.resources.quantities());
          // Still queued at the raylet: ask again under the same id (it never grants twice),
          // and meanwhile pipeline onto the workers already held.
          RequestLease(key, lease_id, raylet, /*answer_if_queued=*/false,
                       /*spilled_back=*/raylet != local_raylet_ && raylet != key.near_raylet);
          if (key.fresh_leases.erase(lease_id) > 0) DispatchLocked(key);
          break;
        case rpc::RequestWorkerLeaseReply::UNSCHEDULABLE:
        case rpc::RequestWorkerLeaseReply::RUNTIME_ENV_SETUP_FAILED: {
          // Nothing can run these: the strategy can never be met (a hard affinity to a dead
          // node), their placement group was removed, or the node cannot set up the job's
          // working_dir. The queued tasks fail with the reason (as Ray's do) rather than wait.
          key.pending_leases.erase(lease_id);
          key.fresh_leases.erase(lease_id);
          FailQueuedLocked(key, LeaseFailure(scheduling, *reply), failed);
          break;
        }
        case rpc::RequestWorkerLeaseReply::SPILLBACK: {
          if (withdrawn) break;
          std::shared_ptr<raylet::RayletClient> target =
              remote_raylets_->At(absl::StrCat(reply->spillback_node().ip(), ":", reply->spillback_node().port()));
          key.pending_leases[lease_id] = target;
          RequestLease(key, lease_id, target, /*answer_if_queued=*/true, /*spilled_back=*/true);
          break;
        }
        default:
          key.pending_leases.erase(lease_id);
          key.fresh_leases.erase(lease_id);
          DispatchLocked(key);
          break;
      }
    }
    // A request that ended without a grant is not asked back any more.
    if (!key.pending_leases.contains(lease_id)) yield_on_grant_.erase(lease_id);
    // The usual end of a shape nothing can run (its tasks failed above).
    ForgetIfUnusedLocked(scheduling);
  }
  for (auto& [task, error] : failed) callbacks_.on_failed(task, error);
  ReturnIdle(yielded);
  if (unplaceable.has_value() && callbacks_.on_group_unplaceable) callbacks_.on_group_unplaceable(*unplaceable);
  if (give_back) {
    rpc::ReturnWorkerRequest request;
    request.set_lease_id(lease_id.Binary());
    raylet->ReturnWorker(request, [](absl::StatusOr<rpc::ReturnWorkerReply>) {});
  }
}

void TaskSubmitter::OnGranted(Key& key, const LeaseId& lease_id, const std::shared_ptr<raylet::RayletClient>& raylet,
                              const rpc::RequestWorkerLeaseReply& reply, bool unwanted) {
  auto worker = std::make_shared<LeasedWorker>();
  worker->lease_id = lease_id;
  worker->address = reply.worker();
  worker->raylet = raylet;
  worker->idle_since_ms = MonotonicMs();
  // Granted as it was withdrawn, or asked back already: it runs what it takes now, then goes.
  worker->yield_when_idle = yield_on_grant_.erase(lease_id) > 0 || unwanted;
  SchedulingKey scheduling = key.scheduling;
  WorkerStream::Callbacks callbacks;
  callbacks.on_results = [this, worker, scheduling](rpc::ResultBatch& results) {
    OnResults(worker, scheduling, results);
  };
  callbacks.on_done = [this, worker, scheduling](const grpc::Status& status) {
    OnStreamDone(worker, scheduling, status);
  };
  worker->stream =
      WorkerStream::Open(stubs_.For(worker->address), options_.cluster_token, std::move(callbacks), streams_.Acquire());
  key.workers.push_back(worker);
  DispatchLocked(key);
}

// ---- results and failures ----

void TaskSubmitter::OnResults(const std::shared_ptr<LeasedWorker>& worker, const SchedulingKey& scheduling,
                              rpc::ResultBatch& results) {
  std::vector<std::pair<rpc::TaskSpec, rpc::SerializedObject>> done;
  std::vector<std::shared_ptr<LeasedWorker>> yielded;
  {
    absl::MutexLock lock(&mu_);
    std::vector<Pending> retry;
    for (rpc::TaskResult& result : *results.mutable_results()) {
      auto task_id = TaskId::FromBinary(result.task_id());
      if (!task_id.ok()) continue;
      auto it = worker->in_flight.find(*task_id);
      if (it == worker->in_flight.end() || it->second.task.attempt() != result.attempt()) continue;
      Pending& pending = it->second;
      rpc::ErrorInfo thrown;
      int next = pending.task.attempt() + 1;
      if (!stopped_ && IsRetriedException(pending.task, result.value(), &thrown) &&
          WithinRetries(next, RetryBudget(pending.task, options_.max_system_retries))) {
        if (callbacks_.on_retried) callbacks_.on_retried(pending.task, thrown);
        pending.task.set_attempt(next);
        retry.push_back(std::move(pending));
      } else {
        FinishLocked(pending);
        done.emplace_back(std::move(pending.task), std::move(*result.mutable_value()));
      }
      worker->in_flight.erase(it);
    }
    if (!stopped_) {
      Key& key = KeyLocked(scheduling);
      RequeueLocked(key, std::move(retry));
      if (results.results_size() > 0) worker->nothing_to_steal = false;
      if (results.running() != rpc::ResultBatch::RUNNING_UNCHANGED) {
        worker->blocked = results.running() == rpc::ResultBatch::RUNNING_BLOCKED;
      }
      if (results.has_stolen()) TakeBackLocked(key, *worker, results.stolen());
      if (worker->in_flight.empty()) worker->idle_since_ms = MonotonicMs();
      DispatchLocked(key);
      TakeYieldingLocked(key, yielded);
      // Its last worker yielded as it went idle (a result may also come after the key went).
      ForgetIfUnusedLocked(scheduling);
    }
  }
  for (auto& [task, value] : done) callbacks_.on_result(task, std::move(value), &scheduling.resources);
  ReturnIdle(yielded);
}

void TaskSubmitter::RequeueLocked(Key& key, std::vector<Pending> retry) {
  // In submission order: the earliest task goes back to the front last.
  std::sort(retry.begin(), retry.end(),
            [](const Pending& a, const Pending& b) { return a.task.task_id() > b.task.task_id(); });
  for (auto& pending : retry) key.queue.push_front(std::move(pending));
}

void TaskSubmitter::FinishLocked(const Pending& pending) {
  --pending_tasks_;
  pending_arg_bytes_ -= pending.arg_bytes;
  room_.SignalAll();
}

void TaskSubmitter::FailQueuedLocked(Key& key, const rpc::ErrorInfo& error,
                                     std::vector<std::pair<rpc::TaskSpec, rpc::ErrorInfo>>& failed) {
  for (auto& pending : key.queue) {
    FinishLocked(pending);
    failed.emplace_back(std::move(pending.task), error);
  }
  key.queue.clear();
}

std::optional<PlacementGroupId> TaskSubmitter::RemovedGroupLocked(const ResourceSet& resources) const {
  if (removed_groups_.empty()) return std::nullopt;
  std::optional<PlacementGroupId> group = GroupOfDemand(resources.quantities());
  return group.has_value() && removed_groups_.contains(*group) ? group : std::nullopt;
}

void TaskSubmitter::OnPlacementGroupRemoved(const PlacementGroupId& group) {
  std::vector<std::pair<rpc::TaskSpec, rpc::ErrorInfo>> failed;
  {
    absl::MutexLock lock(&mu_);
    removed_groups_.insert(group);
    for (auto& [scheduling, key] : keys_) {
      if (RemovedGroupLocked(scheduling.resources) == group) FailQueuedLocked(key, RemovedGroupError(group), failed);
    }
  }
  for (auto& [task, error] : failed) callbacks_.on_failed(task, error);
}

// ---- idle leases ----

void TaskSubmitter::ScheduleIdleCheck() {
  idle_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(10, options_.idle_lease_ms / 10)));
  idle_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    ReturnIdleLeases();
    std::vector<std::pair<rpc::TaskSpec, rpc::ErrorInfo>> failed;
    {
      absl::MutexLock lock(&mu_);
      if (!stopped_) OnDueLocked(failed);
    }
    for (auto& [task, error] : failed) callbacks_.on_failed(task, error);
    ScheduleIdleCheck();
  });
}

void TaskSubmitter::ReturnIdleLeases() {
  std::vector<std::shared_ptr<LeasedWorker>> idle;
  {
    absl::MutexLock lock(&mu_);
    int64_t now = MonotonicMs();
    for (auto& [scheduling, key] : keys_) {
      // A worker granted now would sit idle and take a CPU from others (a raylet grants in
      // order). Checked here rather than as each burst ends, so back-to-back bursts keep theirs.
      if (NothingWaitsLocked(key)) {
        WithdrawLeaseRequestsLocked(key);
      } else if (key.pending_leases.empty()) {
        // Tasks wait, queued or behind a busy worker, and no request is left to bring them a
        // worker: it failed, or was spilled to a node that died, or the raylet dropped it. Asked
        // again, or they would wait for the busy worker however long its task runs.
        RequestNewLeaseLocked(key);
      }
      if (!key.queue.empty()) continue;
      for (auto it = key.workers.begin(); it != key.workers.end();) {
        const auto& worker = *it;
        if (worker->in_flight.empty() && now - worker->idle_since_ms > options_.idle_lease_ms) {
          idle.push_back(worker);
          it = key.workers.erase(it);
        } else {
          ++it;
        }
      }
    }
    ForgetUnusedKeysLocked();
  }
  ReturnIdle(idle);
}

void TaskSubmitter::YieldIdleLeases(const std::vector<LeaseId>& leases) {
  absl::flat_hash_set<LeaseId> asked(leases.begin(), leases.end());
  std::vector<std::shared_ptr<LeasedWorker>> idle;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    for (auto& [scheduling, key] : keys_) {
      // The raylet may ask before its grant reaches us (another connection): the grant yields.
      for (const auto& [lease_id, raylet] : key.pending_leases) {
        if (asked.contains(lease_id)) yield_on_grant_.insert(lease_id);
      }
      for (const auto& worker : key.workers) {
        if (asked.contains(worker->lease_id)) worker->yield_when_idle = true;
      }
      TakeYieldingLocked(key, idle);
    }
    ForgetUnusedKeysLocked();
  }
  ReturnIdle(idle);
}

bool TaskSubmitter::Holds(const LeaseId& lease) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [scheduling, key] : keys_) {
    if (key.pending_leases.contains(lease)) return true;
    for (const auto& worker : key.workers) {
      if (worker->lease_id == lease) return true;
    }
  }
  return false;
}

void TaskSubmitter::TakeYieldingLocked(Key& key, std::vector<std::shared_ptr<LeasedWorker>>& out) {
  for (auto it = key.workers.begin(); it != key.workers.end();) {
    if ((*it)->yield_when_idle && (*it)->idle()) {
      out.push_back(*it);
      it = key.workers.erase(it);
    } else {
      ++it;
    }
  }
}

void TaskSubmitter::ReturnIdle(const std::vector<std::shared_ptr<LeasedWorker>>& idle) {
  for (const auto& worker : idle) {
    worker->stream->Close();
    ReturnLease(worker, /*kill=*/false);
  }
}

void TaskSubmitter::ReturnLease(const std::shared_ptr<LeasedWorker>& worker, bool kill) {
  rpc::ReturnWorkerRequest request;
  request.set_lease_id(worker->lease_id.Binary());
  request.set_kill_worker(kill);
  worker->raylet->ReturnWorker(request, [](absl::StatusOr<rpc::ReturnWorkerReply> reply) {
    if (!reply.ok()) spdlog::debug("returning a lease: {}", reply.status().message());
  });
}

// ---- stopping ----

void TaskSubmitter::Stop() {
  std::vector<std::pair<rpc::TaskSpec, rpc::ErrorInfo>> failed;
  std::vector<std::shared_ptr<LeasedWorker>> workers;
  std::vector<std::pair<LeaseId, std::shared_ptr<raylet::RayletClient>>> pending;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    // Retries waiting out a back-off, and tasks of dead workers waiting to hear why.
    for (auto& delayed : delayed_) {
      FinishLocked(delayed.pending);
      failed.emplace_back(std::move(delayed.pending.task), CrashError("Orrery is shutting down"));
    }
    delayed_.clear();
    std::vector<LostWorker> lost;
    for (auto& [id, waiting] : awaiting_notice_) lost.push_back(std::move(waiting));
    awaiting_notice_.clear();
    for (LostWorker& waiting : lost) {
      ResolveLostLocked(*waiting.worker, KeyLocked(waiting.scheduling), DeathNote{rpc::UNEXPECTED_EXIT, ""}, failed);
    }
    for (auto& [scheduling, key] : keys_) {
      FailQueuedLocked(key, CrashError("Orrery is shutting down"), failed);
      for (auto& worker : key.workers) workers.push_back(worker);
      key.workers.clear();
      for (auto& [id, raylet] : key.pending_leases) pending.emplace_back(id, raylet);
      key.pending_leases.clear();
    }
    room_.SignalAll();
  }
  for (auto& [task, error] : failed) callbacks_.on_failed(task, error);
  for (auto& [id, raylet] : pending) CancelLeaseRequest(*raylet, id);
  for (auto& worker : workers) {
    bool busy;
    {
      absl::MutexLock lock(&mu_);
      busy = !worker->in_flight.empty();
    }
    // A worker still running our task must not be handed to someone else mid-task.
    worker->stream->Cancel();
    ReturnLease(worker, /*kill=*/busy);
  }
  std::promise<void> timer_stopped;
  loop_->Post([this, &timer_stopped] {
    idle_timer_.cancel();
    timer_stopped.set_value();
  });
  timer_stopped.get_future().wait_for(std::chrono::seconds(5));
  // A stream's token goes with the stream itself, which these hold.
  workers.clear();
  WaitForWorkerStreamsToEnd();
}

void TaskSubmitter::WaitForWorkerStreamsToEnd() { streams_.WaitForNone(); }

int TaskSubmitter::num_leased_workers() const {
  absl::MutexLock lock(&mu_);
  int count = 0;
  for (const auto& [scheduling, key] : keys_) count += static_cast<int>(key.workers.size());
  return count;
}

size_t TaskSubmitter::num_scheduling_keys() const {
  absl::MutexLock lock(&mu_);
  return keys_.size();
}

size_t TaskSubmitter::num_death_notes() const {
  absl::MutexLock lock(&mu_);
  return death_notes_.size();
}

int64_t TaskSubmitter::num_pending_tasks() const {
  absl::MutexLock lock(&mu_);
  return pending_tasks_;
}

}  // namespace orrery::core
