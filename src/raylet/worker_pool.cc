#include "src/raylet/worker_pool.h"

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

WorkerPool::WorkerPool(boost::asio::io_context& io, Options options, JobLookup jobs, DeathCallback on_death)
    : io_(io),
      options_(std::move(options)),
      jobs_(std::move(jobs)),
      on_death_(std::move(on_death)),
      housekeeping_timer_(io) {}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::Start() { ScheduleHousekeeping(); }

// ---- handing workers out ----

void WorkerPool::PopWorker(const WorkerKey& key, PopCallback done) {
  if (stopped_) {
    done(absl::UnavailableError("the raylet is stopping"));
    return;
  }
  if (jobs_(key.job_id) == nullptr) {
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
  auto idle = idle_.find(key);
  auto waiting = waiting_.find(key);
  while (idle != idle_.end() && waiting != waiting_.end() && !idle->second.empty() && !waiting->second.empty()) {
    // Most recently used first: its caches are warm.
    std::shared_ptr<Worker> worker = idle->second.back();
    idle->second.pop_back();
    PopCallback done = std::move(waiting->second.front());
    waiting->second.pop_front();
    worker->state = Worker::State::kLeased;
    done(worker);
  }
  if (waiting != waiting_.end() && waiting->second.empty()) waiting_.erase(waiting);
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
  if (!options_.prestart || key.is_actor || !key.gpu_ids.empty() || !key.runtime_env_hash.empty()) return;
  if (!prestarted_jobs_.insert(key.job_id).second) return;
  // At a job's first lease, warm one worker per CPU so a burst of tasks does not wait on starts.
  int have = 0;
  for (const auto& [id, worker] : workers_) {
    if (worker->key == key && worker->state != Worker::State::kExiting) ++have;
  }
  for (int i = have; i < options_.task_worker_cap && CanStart(key); ++i) StartWorker(key);
}

// ---- starting processes ----

std::map<std::string, std::string> WorkerPool::BaseEnvironment(const rpc::JobConfig& job, const JobId& job_id) const {
  std::map<std::string, std::string> env(job.env().begin(), job.env().end());
  env["ORRERY_JOB_ID"] = job_id.Hex();
  env["ORRERY_NODE_ID"] = options_.node_id.Hex();
  env["ORRERY_NODE_IP"] = options_.node_ip;
  env["ORRERY_RAYLET_SOCKET"] = options_.raylet_socket;
  env["ORRERY_GCS_ADDRESS"] = options_.gcs_address;
  env["ORRERY_TOKEN"] = options_.token;
  env["ORRERY_SESSION_DIR"] = options_.session_dir;
  return env;
}

std::map<std::string, std::string> WorkerPool::WorkerEnvironment(const Worker& worker) const {
  return {{"ORRERY_WORKER_ID", worker.id.Hex()},
          {"ORRERY_WORKER_MODE", "worker"},
          {"ORRERY_IS_ACTOR_WORKER", worker.key.is_actor ? "1" : "0"},
          // Exactly the GPUs the lease holds; none is "" so CUDA sees no device.
          {"CUDA_VISIBLE_DEVICES", worker.key.gpu_ids}};
}

void WorkerPool::StartWorker(const WorkerKey& key) {
  const rpc::JobConfig* job = jobs_(key.job_id);
  if (job == nullptr) return;
  auto worker = std::make_shared<Worker>(WorkerId::FromRandom(), key, rpc::WORKER, io_);
  worker->start_ms = MonotonicMs();
  worker->stderr_path = absl::StrCat(options_.logs_dir, "/worker-", worker->id.Hex(), ".err");
  workers_[worker->id] = worker;
  spdlog::debug("starting worker {} for {}", worker->id.ShortHex(), key.ToString());
  if (exec_only_jobs_.contains(key.job_id)) {
    ExecWorker(worker, *job);
    return;
  }
  Zygote* zygote = GetOrStartZygote(key, *job);
  if (zygote == nullptr) {
    ExecWorker(worker, *job);
  } else if (zygote->state == Zygote::State::kStarting) {
    zygote->queued.push_back(worker);
  } else {
    ForkWorker(worker, *zygote);
  }
}

void WorkerPool::ExecWorker(const std::shared_ptr<Worker>& worker, const rpc::JobConfig& job) {
  SpawnOptions spawn;
  spawn.argv.assign(job.worker_command().begin(), job.worker_command().end());
  spawn.env = BaseEnvironment(job, worker->key.job_id);
  for (auto& [name, value] : WorkerEnvironment(*worker)) spawn.env[name] = value;
  spawn.unset_env = {"ORRERY_ZYGOTE_FD", "ORRERY_READY_FD"};
  spawn.stdout_path = absl::StrCat(options_.logs_dir, "/worker-", worker->id.Hex(), ".out");
  spawn.stderr_path = worker->stderr_path;
  spawn.die_with_parent = true;
  auto child = Spawn(spawn);
  if (!child.ok()) {
    spdlog::error("cannot start a worker for {}: {}", worker->key.ToString(), child.status().message());
    workers_.erase(worker->id);
    FailOneWaiter(worker->key, child.status());
    return;
  }
  worker->is_child = true;
  worker->pid = child->pid;
  worker->pidfd.assign(child->pidfd);
  Watch(worker, child->pid);
}

WorkerPool::Zygote* WorkerPool::GetOrStartZygote(const WorkerKey& key, const rpc::JobConfig& job) {
  ZygoteKey zkey{key.job_id, key.runtime_env_hash};
  if (auto it = zygotes_.find(zkey); it != zygotes_.end()) return &it->second;
  SpawnOptions spawn;
  spawn.argv.assign(job.worker_command().begin(), job.worker_command().end());
  spawn.env = BaseEnvironment(job, key.job_id);
  spawn.unset_env = {"ORRERY_WORKER_ID", "ORRERY_READY_FD", "CUDA_VISIBLE_DEVICES"};
  std::string name = absl::StrCat(options_.logs_dir, "/zygote-", key.job_id.Hex(), "-", options_.node_id.ShortHex());
  spawn.stdout_path = name + ".out";
  spawn.stderr_path = name + ".err";
  ZygoteClient::Callbacks callbacks;
  callbacks.on_hello = [this, zkey](int threads) { OnZygoteHello(zkey, threads); };
  callbacks.on_spawned = [this](const WorkerId& id, pid_t pid) {
    auto worker = Find(id);
    if (worker == nullptr || worker->pid > 0) return;
    zygote_children_[pid] = id;
    auto pidfd = OpenPidfd(pid);
    if (!pidfd.ok()) {
      worker->exited = true;  // gone already; the zygote's exit event finishes it
      worker->pid = pid;
      return;
    }
    worker->pid = pid;
    worker->pidfd.assign(*pidfd);
    Watch(worker, pid);
  };
  callbacks.on_exited = [this](pid_t pid, int status) {
    auto it = zygote_children_.find(pid);
    if (it == zygote_children_.end()) return;
    auto worker = Find(it->second);
    if (worker == nullptr) return;
    worker->wait_status = status;
    if (worker->exited) HandleDeath(worker);
  };
  callbacks.on_fork_failed = [this](const WorkerId& id, const std::string& error) {
    auto worker = Find(id);
    if (worker == nullptr) return;
    workers_.erase(id);
    FailOneWaiter(worker->key, absl::ResourceExhaustedError("cannot fork a worker: " + error));
  };
  callbacks.on_lost = [this, zkey](const std::string& why) { OnZygoteLost(zkey, why); };
  auto client = ZygoteClient::Start(io_, spawn, std::move(callbacks));
  if (!client.ok()) {
    spdlog::error("cannot start the zygote of job {}: {}", key.job_id.Hex(), client.status().message());
    return nullptr;
  }
  Zygote& zygote = zygotes_[zkey];
  zygote.client = std::move(*client);
  spdlog::info("started the zygote of job {} (pid {})", key.job_id.Hex(), zygote.client->pid());
  return &zygote;
}

void WorkerPool::RetireZygote(const ZygoteKey& zkey) {
  auto it = zygotes_.find(zkey);
  if (it == zygotes_.end()) return;
  // We may be inside the client's own callback: destroy it later, on the loop.
  std::shared_ptr<ZygoteClient> client(std::move(it->second.client));
  zygotes_.erase(it);
  boost::asio::post(io_, [client] {});
}

void WorkerPool::OnZygoteHello(ZygoteKey zkey, int threads) {
  auto it = zygotes_.find(zkey);
  if (it == zygotes_.end()) return;
  std::vector<std::shared_ptr<Worker>> queued = std::move(it->second.queued);
  if (threads > 1) {
    spdlog::warn(
        "the worker program of job {} started {} threads before Orrery took over, so it cannot fork safely; "
        "starting each worker by exec instead (slower). Start threads after orrery::Init() to avoid this.",
        zkey.job_id.Hex(), threads);
    exec_only_jobs_.insert(zkey.job_id);
    // The zygote exits by itself; its loss is expected now.
    RetireZygote(zkey);
    const rpc::JobConfig* job = jobs_(zkey.job_id);
    for (auto& worker : queued) {
      if (job != nullptr) ExecWorker(worker, *job);
    }
    return;
  }
  it->second.state = Zygote::State::kReady;
  for (auto& worker : queued) ForkWorker(worker, it->second);
}

void WorkerPool::ForkWorker(const std::shared_ptr<Worker>& worker, Zygote& zygote) {
  worker->from_zygote = true;
  absl::Status status = zygote.client->Fork(worker->id, WorkerEnvironment(*worker),
                                            absl::StrCat(options_.logs_dir, "/worker-", worker->id.Hex(), ".out"),
                                            worker->stderr_path);
  if (!status.ok()) {
    workers_.erase(worker->id);
    FailOneWaiter(worker->key, status);
  }
}

void WorkerPool::OnZygoteLost(ZygoteKey zkey, const std::string& why) {
  auto it = zygotes_.find(zkey);
  if (it == zygotes_.end()) return;
  std::string log = absl::StrCat(options_.logs_dir, "/zygote-", zkey.job_id.Hex(), "-", options_.node_id.ShortHex(),
                                 ".err");
  spdlog::warn("the zygote of job {} exited: {}", zkey.job_id.Hex(), why);
  std::vector<std::shared_ptr<Worker>> queued = std::move(it->second.queued);
  RetireZygote(zkey);
  absl::Status error = absl::UnavailableError(
      absl::StrCat("the worker program of job ", zkey.job_id.Hex(), " exited (", why, ") before it could start workers; see ", log));
  for (auto& worker : queued) {
    workers_.erase(worker->id);
    FailOneWaiter(worker->key, error);
  }
  // Forked workers whose fork never got a pid are gone too; the rest die through their pidfds.
  std::vector<std::shared_ptr<Worker>> orphans;
  for (auto& [id, worker] : workers_) {
    if (worker->from_zygote && worker->key.job_id == zkey.job_id && worker->key.runtime_env_hash == zkey.runtime_env_hash) {
      if (worker->pid <= 0 || worker->exited) orphans.push_back(worker);
    }
  }
  for (auto& worker : orphans) {
    if (worker->pid <= 0) {
      workers_.erase(worker->id);
      FailOneWaiter(worker->key, error);
    } else {
      HandleDeath(worker);
    }
  }
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
    auto driver = std::make_shared<Worker>(*worker_id, WorkerKey{*job_id, "", "", false}, rpc::DRIVER, io_);
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
    // The registration overtook the zygote's "spawned" message.
    auto pidfd = OpenPidfd(request.pid());
    if (!pidfd.ok()) return pidfd.status();
    worker->pid = request.pid();
    zygote_children_[worker->pid] = worker->id;
    worker->pidfd.assign(*pidfd);
    Watch(worker, worker->pid);
  }
  worker->port = request.port();
  worker->state = Worker::State::kIdle;
  worker->idle_since_ms = MonotonicMs();
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
    if (w->pid > 0) kill(w->pid, SIGKILL);
  });
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
  } else if (worker->from_zygote && !worker->wait_status) {
    ZygoteKey zkey{worker->key.job_id, worker->key.runtime_env_hash};
    // The zygote reaps it and reports the status; wait for that unless the zygote is gone.
    if (zygotes_.contains(zkey)) return;
  }
  HandleDeath(worker);
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
    detail = worker->exit_reason.empty()
                 ? absl::StrCat("worker process ", worker->pid, " ", status, " before it registered; see ",
                                worker->stderr_path)
                 : absl::StrCat(worker->exit_reason, "; see ", worker->stderr_path);
    FailOneWaiter(worker->key, absl::UnavailableError(detail));
  } else if (worker->state == Worker::State::kExiting) {
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
  std::vector<ZygoteKey> zkeys;
  for (auto& [zkey, zygote] : zygotes_) {
    if (zkey.job_id == job_id) zkeys.push_back(zkey);
  }
  for (const auto& zkey : zkeys) RetireZygote(zkey);
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
  exec_only_jobs_.erase(job_id);
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
  zygotes_.clear();  // each kills and reaps its zygote; forked workers die with it
  workers_.clear();
  idle_.clear();
}

// ---- queries ----

std::shared_ptr<Worker> WorkerPool::Find(const WorkerId& worker_id) const {
  auto it = workers_.find(worker_id);
  return it == workers_.end() ? nullptr : it->second;
}

int WorkerPool::num_workers() const { return CountWorkers(false) + CountWorkers(true); }

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
