#include "src/raylet/worker_pool.h"

#include <sys/wait.h>

#include <signal.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "boost/asio/post.hpp"
#include "orrery/version.h"
#include "src/common/clock.h"
#include "src/common/log.h"
#include "src/common/process.h"
#include "src/common/status.h"
#include "src/rpc/version_check.h"

namespace orrery::raylet {

namespace {

// A fork from a zygote registers in milliseconds, an exec'd worker in a fraction of a second,
// one behind a runtime environment (a working directory to unpack) in seconds.
const std::vector<double>& WorkerStartBounds() {
  static const std::vector<double> bounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,  0.5,    1,     2.5,  5,     10,   30};
  return bounds;
}

}  // namespace

WorkerPool::WorkerPool(boost::asio::io_context& io, Options options, JobLookup jobs, DeathCallback on_death)
    : io_(io),
      options_(std::move(options)),
      jobs_(std::move(jobs)),
      on_death_(std::move(on_death)),
      launcher_(io, options_.launch, LauncherCallbacks()),
      start_seconds_(WorkerStartBounds()),
      housekeeping_timer_(io) {}

WorkerLauncher::Callbacks WorkerPool::LauncherCallbacks() {
  WorkerLauncher::Callbacks callbacks;
  callbacks.on_started = [this](const WorkerId& id, pid_t pid, int pidfd, bool is_child) {
    OnStarted(id, pid, pidfd, is_child);
  };
  callbacks.on_failed = [this](const WorkerId& id, const absl::Status& status) { OnStartFailed(id, status); };
  callbacks.on_exit_status = [this](pid_t pid, int status) { OnExitStatus(pid, status); };
  callbacks.on_zygote_lost = [this](const JobId& job, const EnvVars& env) { OnZygoteLost(job, env); };
  return callbacks;
}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::Start() { ScheduleHousekeeping(); }

// ---- handing workers out ----

void WorkerPool::PopWorker(const WorkerKey& key, PopCallback done) {
  if (stopped_) {
    done(absl::UnavailableError("the raylet is stopping"));
    return;
  }
  if (!jobs_(key.job_id).has_value()) {
    done(absl::FailedPreconditionError("job " + key.job_id.Hex() + " is not known to this node"));
    return;
  }
  waiting_[key].push_back(std::move(done));
  ServeWaiting(key);
  if (!waiting_[key].empty()) MaybeStartWorkers(key);
  Prestart(key);
}

void WorkerPool::PushWorker(const std::shared_ptr<Worker>& worker) {
  if (worker->state != Worker::State::kLeased) return;
  worker->state = Worker::State::kIdle;
  worker->lease_id = LeaseId::Nil();
  worker->lease_holder = WorkerId::Nil();
  worker->blocked = false;
  worker->idle_since_ms = MonotonicMs();
  idle_[worker->key].push_back(worker);
  ServeWaiting(worker->key);
}

void WorkerPool::ServeWaiting(const WorkerKey& key) {
  while (true) {
    // Looked up again each time: a callback may push or pop workers, changing the maps.
    auto idle = idle_.find(key);
    auto waiting = waiting_.find(key);
    if (waiting != waiting_.end() && waiting->second.empty()) {
      waiting_.erase(waiting);
      return;
    }
    if (idle == idle_.end() || waiting == waiting_.end() || idle->second.empty()) return;
    // Most recently used first: its caches are warm.
    std::shared_ptr<Worker> worker = idle->second.back();
    idle->second.pop_back();
    PopCallback done = std::move(waiting->second.front());
    waiting->second.pop_front();
    worker->state = Worker::State::kLeased;
    done(worker);
  }
}

int WorkerPool::CountWorkers(bool actor) const {
  int count = 0;
  for (const auto& [id, worker] : workers_) {
    if (worker->type == rpc::WORKER && worker->key.is_actor == actor && worker->state != Worker::State::kExiting) {
      ++count;
    }
  }
  return count;
}

int WorkerPool::CountStarting(const WorkerKey& key) const {
  int count = 0;
  for (const auto& [id, worker] : workers_) {
    if (worker->key == key && worker->state == Worker::State::kStarting) ++count;
  }
  return count;
}

bool WorkerPool::CanStart(const WorkerKey& key) const {
  if (key.is_actor) return CountWorkers(true) < options_.max_actor_workers;
  return CountWorkers(false) < options_.task_worker_cap + lent_cpus_;
}

void WorkerPool::MaybeStartWorkers(const WorkerKey& key) {
  auto waiting = waiting_.find(key);
  if (waiting == waiting_.end()) return;
  while (CountStarting(key) < static_cast<int>(waiting->second.size())) {
    if (!CanStart(key)) {
      // At the cap: an idle worker of another key makes room (its death restarts this).
      EvictIdleWorkerOtherThan(key);
      return;
    }
    StartWorker(key);
  }
}

void WorkerPool::StartPending() {
  std::vector<WorkerKey> keys;
  for (const auto& [key, callbacks] : waiting_) keys.push_back(key);
  for (const WorkerKey& key : keys) MaybeStartWorkers(key);
}

bool WorkerPool::EvictIdleWorkerOtherThan(const WorkerKey& key) {
  for (auto& [other, idle] : idle_) {
    if (other == key || other.is_actor != key.is_actor || idle.empty()) continue;
    std::shared_ptr<Worker> victim = idle.front();
    KillWorker(victim, "making room for a worker of " + key.ToString());
    return true;
  }
  return false;
}

void WorkerPool::Prestart(const WorkerKey& key) {
  if (!options_.prestart || key.is_actor || !key.gpu_ids.empty() || !key.env_vars.empty()) return;
  if (!prestarted_jobs_.insert(key.job_id).second) return;
  // At a job's first lease, warm one worker per CPU so a burst of tasks does not wait on starts.
  int have = 0;
  for (const auto& [id, worker] : workers_) {
    if (worker->key == key && worker->state != Worker::State::kExiting) ++have;
  }
  for (int i = have; i < options_.task_worker_cap && CanStart(key); ++i) StartWorker(key);
}

// ---- starting processes ----

void WorkerPool::StartWorker(const WorkerKey& key) {
  std::optional<JobLaunch> job = jobs_(key.job_id);
  if (!job.has_value()) return;
  auto worker = std::make_shared<Worker>(WorkerId::FromRandom(), key, rpc::WORKER, io_);
  worker->start_ms = MonotonicMs();
  worker->stderr_path = WorkerOutputPath(options_.launch.logs_dir, worker->id, "err");
  workers_[worker->id] = worker;
  ++workers_started_;
  spdlog::debug("starting worker {} for {}", worker->id.ShortHex(), key.ToString());
  launcher_.Launch(*worker, *job);
}

void WorkerPool::OnStarted(const WorkerId& worker_id, pid_t pid, int pidfd, bool is_child) {
  auto worker = Find(worker_id);
  // Gone already, or its registration overtook the zygote's report and it is watched already.
  if (worker == nullptr || worker->pid > 0) {
    if (pidfd >= 0) close(pidfd);
    return;
  }
  worker->pid = pid;
  worker->is_child = is_child;
  worker->from_zygote = !is_child;
  if (!is_child) zygote_children_[pid] = worker_id;
  if (pidfd < 0) {
    worker->exited = true;  // its exit status follows from the zygote
    return;
  }
  worker->pidfd.assign(pidfd);
  Watch(worker, pid);
}

void WorkerPool::OnStartFailed(const WorkerId& worker_id, const absl::Status& status) {
  auto worker = Find(worker_id);
  if (worker == nullptr) return;
  workers_.erase(worker_id);
  ++worker_start_failures_;
  FailOneWaiter(worker->key, status);
}

void WorkerPool::OnExitStatus(pid_t pid, int wait_status) {
  auto it = zygote_children_.find(pid);
  if (it == zygote_children_.end()) return;
  auto worker = Find(it->second);
  if (worker == nullptr) return;
  worker->wait_status = wait_status;
  if (worker->exited) HandleDeath(worker);
}

void WorkerPool::OnZygoteLost(const JobId& job_id, const EnvVars& env_vars) {
  // Its children that already exited will get no status from it now.
  std::vector<std::shared_ptr<Worker>> finished;
  for (auto& [id, worker] : workers_) {
    if (worker->from_zygote && worker->exited && worker->key.job_id == job_id &&
        worker->key.env_vars == env_vars) {
      finished.push_back(worker);
    }
  }
  for (auto& worker : finished) HandleDeath(worker);
}

// ---- registration ----

absl::Status WorkerPool::RegisterWorker(const rpc::RegisterWorkerRequest& request) {
  auto worker_id = WorkerId::FromBinary(request.worker_id());
  if (!worker_id.ok()) return worker_id.status();
  auto job_id = JobId::FromOptionalBinary(request.job_id());
  if (!job_id.ok()) return job_id.status();
  bool is_driver = request.worker_type() == rpc::DRIVER;
  ORRERY_RETURN_IF_ERROR(rpc::CheckVersion(absl::StrCat(is_driver ? "driver " : "worker ", worker_id->ShortHex()),
                                           request.version()));
  if (request.pid() <= 0) return absl::InvalidArgumentError("RegisterWorker: pid must be positive");
  if (request.port() < 0 || request.port() > 65535) return absl::InvalidArgumentError("RegisterWorker: bad port");

  if (is_driver) {
    if (workers_.contains(*worker_id)) return absl::OkStatus();  // a retried registration
    auto pidfd = OpenPidfd(request.pid());
    if (!pidfd.ok()) return absl::NotFoundError(absl::StrCat("driver pid ", request.pid(), " is not running here"));
    auto driver = std::make_shared<Worker>(*worker_id, WorkerKey{*job_id, {}, "", false}, rpc::DRIVER, io_);
    driver->state = Worker::State::kLeased;
    driver->pid = request.pid();
    driver->port = request.port();
    driver->pidfd.assign(*pidfd);
    workers_[driver->id] = driver;
    Watch(driver, driver->pid);
    spdlog::info("driver {} of job {} registered (pid {})", worker_id->ShortHex(), job_id->Hex(), request.pid());
    return absl::OkStatus();
  }

  auto worker = Find(*worker_id);
  if (worker == nullptr) {
    return absl::NotFoundError("worker " + worker_id->Hex() + " was not started by this raylet");
  }
  if (worker->key.job_id != *job_id) {
    return absl::InvalidArgumentError("worker " + worker_id->Hex() + " registered for another job");
  }
  if (worker->state != Worker::State::kStarting) {
    return worker->port == request.port() ? absl::OkStatus()
                                          : absl::FailedPreconditionError("worker " + worker_id->Hex() +
                                                                          " is already registered");
  }
  if (worker->pid > 0 && worker->pid != request.pid()) {
    return absl::InvalidArgumentError(absl::StrCat("worker ", worker_id->Hex(), " registered with pid ",
                                                   request.pid(), " but was started as pid ", worker->pid));
  }
  if (worker->pid <= 0) {
    // The registration overtook the zygote's "spawned" message (exec'd workers have a pid
    // before they can register).
    auto pidfd = OpenPidfd(request.pid());
    if (!pidfd.ok()) return pidfd.status();
    worker->pid = request.pid();
    worker->from_zygote = true;
    zygote_children_[worker->pid] = worker->id;
    worker->pidfd.assign(*pidfd);
    Watch(worker, worker->pid);
  }
  worker->port = request.port();
  worker->state = Worker::State::kIdle;
  worker->idle_since_ms = MonotonicMs();
  start_seconds_.Observe(static_cast<double>(worker->idle_since_ms - worker->start_ms) / 1000);
  spdlog::debug("worker {} registered (pid {}, port {}) for {}", worker->id.ShortHex(), worker->pid, worker->port,
                worker->key.ToString());
  idle_[worker->key].push_back(worker);
  ServeWaiting(worker->key);
  return absl::OkStatus();
}

// ---- ending processes ----

void WorkerPool::KillWorker(const std::shared_ptr<Worker>& worker, const std::string& reason) {
  if (worker->state == Worker::State::kExiting) return;
  RemoveIdle(*worker);
  worker->state = Worker::State::kExiting;
  worker->exit_reason = reason;
  spdlog::debug("ending worker {}: {}", worker->id.ShortHex(), reason);
  if (worker->pid > 0) kill(worker->pid, SIGTERM);
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::milliseconds(options_.kill_grace_ms));
  std::weak_ptr<Worker> weak = worker;
  timer->async_wait([timer, weak](const boost::system::error_code& ec) {
    auto w = weak.lock();
    if (ec || w == nullptr || w->exited) return;
    w->force_killed = true;
    if (w->pid > 0) kill(w->pid, SIGKILL);
  });
}

void WorkerPool::KillForMemory(const std::shared_ptr<Worker>& worker, const std::string& reason) {
  if (worker->state == Worker::State::kExiting) return;
  RemoveIdle(*worker);
  worker->state = Worker::State::kExiting;
  worker->exit_reason = reason;
  worker->killed_for_memory = true;
  // At once: the memory is needed now, not after a grace period.
  worker->force_killed = true;
  if (worker->pid > 0) kill(worker->pid, SIGKILL);
}

void WorkerPool::Watch(const std::shared_ptr<Worker>& worker, pid_t pid) {
  WorkerId id = worker->id;
  worker->pidfd.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                           [this, id](const boost::system::error_code& ec) {
                             if (!ec) OnPidfdReadable(id);
                           });
}

void WorkerPool::OnPidfdReadable(const WorkerId& worker_id) {
  auto worker = Find(worker_id);
  if (worker == nullptr) return;
  worker->exited = true;
  if (worker->is_child) {
    worker->wait_status = TryReap(worker->pidfd.native_handle());
  } else if (worker->from_zygote && !worker->wait_status &&
             launcher_.HasZygote(worker->key.job_id, worker->key.env_vars)) {
    return;  // the zygote reaps it and reports the status
  }
  HandleDeath(worker);
}

// A worker being ended gets SIGTERM (then SIGKILL after the grace period). Killed by SIGKILL
// before that, it died of something else: a holder that saw its stream break may have asked
// to end a worker that was already dying, and that death must still be reported.
bool WorkerPool::DiedBeforeEnded(const Worker& worker) {
  if (!worker.wait_status || worker.force_killed) return false;
  return WIFSIGNALED(*worker.wait_status) && WTERMSIG(*worker.wait_status) == SIGKILL;
}

void WorkerPool::HandleDeath(const std::shared_ptr<Worker>& worker) {
  if (workers_.erase(worker->id) == 0) return;
  RemoveIdle(*worker);
  if (worker->pid > 0) zygote_children_.erase(worker->pid);
  boost::system::error_code ignored;
  worker->pidfd.close(ignored);

  std::string status = worker->wait_status ? DescribeWaitStatus(*worker->wait_status) : "exited";
  rpc::ExitType exit_type;
  std::string detail;
  if (worker->state == Worker::State::kStarting || worker->exit_reason.rfind("did not register", 0) == 0) {
    exit_type = rpc::STARTUP_FAILED;
    ++worker_start_failures_;
    detail = worker->exit_reason.empty()
                 ? absl::StrCat("worker process ", worker->pid, " ", status, " before it registered; see ",
                                worker->stderr_path)
                 : absl::StrCat(worker->exit_reason, "; see ", worker->stderr_path);
    FailOneWaiter(worker->key, absl::UnavailableError(detail));
  } else if (worker->killed_for_memory) {
    exit_type = rpc::OUT_OF_MEMORY;
    detail = worker->exit_reason;
  } else if (worker->state == Worker::State::kExiting && !DiedBeforeEnded(*worker)) {
    exit_type = rpc::INTENDED_EXIT;
    detail = absl::StrCat(worker->exit_reason, " (", status, ")");
  } else {
    exit_type = rpc::UNEXPECTED_EXIT;
    detail = absl::StrCat(worker->type == rpc::DRIVER ? "driver" : "worker", " process ", worker->pid, " ", status);
  }
  on_death_(worker, exit_type, detail);
  if (!stopped_) StartPending();
}

void WorkerPool::FailOneWaiter(const WorkerKey& key, const absl::Status& status) {
  auto waiting = waiting_.find(key);
  if (waiting == waiting_.end() || waiting->second.empty()) return;
  // Only fail a waiter no other starting worker will serve.
  if (CountStarting(key) >= static_cast<int>(waiting->second.size())) return;
  PopCallback done = std::move(waiting->second.front());
  waiting->second.pop_front();
  if (waiting->second.empty()) waiting_.erase(waiting);
  done(status);
}

void WorkerPool::RemoveIdle(const Worker& worker) {
  auto it = idle_.find(worker.key);
  if (it == idle_.end()) return;
  auto& list = it->second;
  for (auto w = list.begin(); w != list.end(); ++w) {
    if ((*w)->id == worker.id) {
      list.erase(w);
      break;
    }
  }
  if (list.empty()) idle_.erase(it);
}

void WorkerPool::OnJobFinished(const JobId& job_id) {
  std::vector<std::shared_ptr<Worker>> doomed;
  for (auto& [id, worker] : workers_) {
    if (worker->key.job_id == job_id && worker->type == rpc::WORKER) doomed.push_back(worker);
  }
  for (auto& worker : doomed) KillWorker(worker, "its job finished");
  // The zygotes outlive their workers' grace period: a forked worker dies with its zygote.
  launcher_.EndJob(job_id, std::chrono::milliseconds(options_.kill_grace_ms));
  std::vector<WorkerKey> keys;
  for (auto& [key, callbacks] : waiting_) {
    if (key.job_id == job_id) keys.push_back(key);
  }
  for (const auto& key : keys) {
    auto callbacks = std::move(waiting_[key]);
    waiting_.erase(key);
    for (auto& done : callbacks) done(absl::FailedPreconditionError("job " + job_id.Hex() + " has finished"));
  }
  prestarted_jobs_.erase(job_id);
}

void WorkerPool::SetLentCpus(int lent) {
  lent_cpus_ = lent;
  StartPending();
}

void WorkerPool::ScheduleHousekeeping() {
  housekeeping_timer_.expires_after(std::chrono::milliseconds(options_.housekeeping_period_ms));
  housekeeping_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    Housekeeping();
    ScheduleHousekeeping();
  });
}

void WorkerPool::Housekeeping() {
  int64_t now = MonotonicMs();
  std::vector<std::pair<std::shared_ptr<Worker>, std::string>> doomed;
  for (auto& [id, worker] : workers_) {
    if (worker->type != rpc::WORKER) continue;
    if (worker->state == Worker::State::kIdle && now - worker->idle_since_ms > options_.idle_timeout_ms) {
      doomed.emplace_back(worker, absl::StrCat("idle for more than ", options_.idle_timeout_ms, " ms"));
    } else if (worker->state == Worker::State::kStarting && now - worker->start_ms > options_.start_timeout_ms) {
      doomed.emplace_back(worker, absl::StrCat("did not register within ", options_.start_timeout_ms, " ms"));
    }
  }
  for (auto& [worker, reason] : doomed) KillWorker(worker, reason);
}

void WorkerPool::Stop() {
  if (stopped_) return;
  stopped_ = true;
  housekeeping_timer_.cancel();
  for (auto& [key, callbacks] : waiting_) {
    for (auto& done : callbacks) done(absl::UnavailableError("the raylet is stopping"));
  }
  waiting_.clear();
  std::vector<std::shared_ptr<Worker>> all;
  for (auto& [id, worker] : workers_) {
    if (worker->type == rpc::WORKER && worker->pid > 0) {
      kill(worker->pid, SIGTERM);
      all.push_back(worker);
    }
  }
  int64_t deadline = MonotonicMs() + options_.kill_grace_ms;
  for (auto& worker : all) {
    int64_t left = std::max<int64_t>(0, deadline - MonotonicMs());
    if (!worker->pidfd.is_open() || !WaitForExit(worker->pidfd.native_handle(), static_cast<int>(left))) {
      kill(worker->pid, SIGKILL);
    }
    if (worker->is_child && worker->pidfd.is_open()) {
      WaitForExit(worker->pidfd.native_handle(), 1000);
      TryReap(worker->pidfd.native_handle());
    }
  }
  launcher_.Stop();
  workers_.clear();
  idle_.clear();
}

// ---- queries ----

std::shared_ptr<Worker> WorkerPool::Find(const WorkerId& worker_id) const {
  auto it = workers_.find(worker_id);
  return it == workers_.end() ? nullptr : it->second;
}

int WorkerPool::num_workers() const { return CountWorkers(false) + CountWorkers(true); }

std::vector<std::shared_ptr<const Worker>> WorkerPool::RegisteredProcesses() const {
  std::vector<std::shared_ptr<const Worker>> processes;
  for (const auto& [id, worker] : workers_) {
    if (worker->port > 0 && !worker->exited && worker->state != Worker::State::kExiting) processes.push_back(worker);
  }
  return processes;
}

void WorkerPool::FillStats(rpc::GetNodeStatsReply* reply) const {
  for (const auto& [id, worker] : workers_) {
    if (worker->type != rpc::WORKER) continue;
    rpc::WorkerStats* stats = reply->add_workers();
    stats->set_worker_id(id.Binary());
    stats->set_pid(worker->pid);
    stats->set_job_id(worker->key.job_id.Binary());
    stats->set_state(worker->StatsState());
    stats->set_is_actor_worker(worker->key.is_actor);
    stats->set_lease_id(worker->lease_id.IsNil() ? "" : worker->lease_id.Binary());
    stats->set_blocked(worker->blocked);
    stats->set_forked_from_zygote(worker->from_zygote);
    stats->set_cuda_visible_devices(worker->key.gpu_ids);
  }
  reply->set_num_zygotes(num_zygotes());
}

}  // namespace orrery::raylet
