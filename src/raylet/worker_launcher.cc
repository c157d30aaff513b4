#include "src/raylet/worker_launcher.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "src/common/log.h"
#include "src/common/process.h"
#include "src/rpc/cluster_tls.h"

namespace orrery::raylet {

WorkerLauncher::WorkerLauncher(boost::asio::io_context& io, Options options, Callbacks callbacks)
    : io_(io), options_(std::move(options)), callbacks_(std::move(callbacks)) {}

SpawnOptions WorkerLauncher::JobProgram(const ZygoteKey& key, const JobLaunch& job) const {
  SpawnOptions spawn;
  spawn.argv.assign(job.config->worker_command().begin(), job.config->worker_command().end());
  if (!job.working_dir.empty()) {
    spawn.cwd = job.working_dir;
    // The driver named its program relative to the working_dir: the copy unpacked here runs.
    if (!spawn.argv.empty() && !spawn.argv[0].empty() && spawn.argv[0][0] != '/') {
      spawn.argv[0] = job.working_dir + "/" + spawn.argv[0];
    }
  }
  // The job's variables, the task's or actor's over them, and Orrery's over both.
  spawn.env.insert(job.config->env().begin(), job.config->env().end());
  for (const auto& [name, value] : key.env_vars) spawn.env[name] = value;
  spawn.env["ORRERY_JOB_ID"] = key.job_id.Hex();
  spawn.env["ORRERY_NODE_ID"] = options_.node_id.Hex();
  spawn.env["ORRERY_NODE_IP"] = options_.node_ip;
  spawn.env["ORRERY_RAYLET_SOCKET"] = options_.raylet_socket;
  spawn.env["ORRERY_GCS_ADDRESS"] = options_.gcs_address;
  spawn.env["ORRERY_TOKEN"] = options_.token;
  spawn.env["ORRERY_SESSION_DIR"] = options_.session_dir;
  spawn.env["ORRERY_GCS_LOST_TIMEOUT_MS"] = std::to_string(options_.gcs_lost_timeout_ms);
  spawn.env["ORRERY_BIND_ALL"] = std::to_string(options_.bind_all ? 1 : 0);
  // The node's TLS directory, which the raylet named in its own environment (cluster_tls.h).
  if (const char* tls_dir = std::getenv(rpc::kTlsDirEnv); tls_dir != nullptr) spawn.env[rpc::kTlsDirEnv] = tls_dir;
  return spawn;
}

std::map<std::string, std::string> WorkerLauncher::WorkerEnvironment(const Worker& worker) const {
  return {{"ORRERY_WORKER_ID", worker.id.Hex()},
          {"ORRERY_WORKER_MODE", "worker"},
          {"ORRERY_IS_ACTOR_WORKER", worker.key.is_actor ? "1" : "0"},
          // Exactly the GPUs the lease holds; none is "" so CUDA sees no device.
          {"CUDA_VISIBLE_DEVICES", worker.key.gpu_ids}};
}

std::string WorkerLauncher::ZygoteLogBase(const JobId& job_id) const {
  return absl::StrCat(options_.logs_dir, "/zygote-", job_id.Hex(), "-", options_.node_id.ShortHex());
}

void WorkerLauncher::Launch(const Worker& worker, const JobLaunch& job) {
  ZygoteKey key{worker.key.job_id, worker.key.env_vars};
  Fork fork{worker.id, WorkerEnvironment(worker)};
  if (exec_only_jobs_.contains(key.job_id)) return Exec(fork.worker_id, key.job_id, fork.env, JobProgram(key, job));
  Zygote* zygote = GetOrStartZygote(key, job);
  if (zygote == nullptr) return Exec(fork.worker_id, key.job_id, fork.env, JobProgram(key, job));
  if (!zygote->ready) {
    zygote->queued.push_back(std::move(fork));
    return;
  }
  SendFork(*zygote, fork);
}

void WorkerLauncher::Exec(const WorkerId& worker_id, const JobId& job_id,
                          const std::map<std::string, std::string>& worker_env, SpawnOptions program) {
  for (const auto& [name, value] : worker_env) program.env[name] = value;
  program.unset_env = {"ORRERY_ZYGOTE_FD", "ORRERY_READY_FD"};
  program.stdout_path = WorkerOutputPath(options_.logs_dir, worker_id, "out");
  program.stderr_path = WorkerOutputPath(options_.logs_dir, worker_id, "err");
  program.die_with_parent = true;
  auto child = Spawn(program);
  if (!child.ok()) {
    spdlog::error("cannot start a worker of job {}: {}", job_id.Hex(), child.status().message());
    return callbacks_.on_failed(worker_id, child.status());
  }
  callbacks_.on_started(worker_id, child->pid, child->pidfd, /*is_child=*/true);
}

WorkerLauncher::Zygote* WorkerLauncher::GetOrStartZygote(const ZygoteKey& key, const JobLaunch& job) {
  if (auto it = zygotes_.find(key); it != zygotes_.end()) return &it->second;
  SpawnOptions program = JobProgram(key, job);
  SpawnOptions spawn = program;
  spawn.unset_env = {"ORRERY_WORKER_ID", "ORRERY_READY_FD", "CUDA_VISIBLE_DEVICES"};
  spawn.stdout_path = ZygoteLogBase(key.job_id) + ".out";
  spawn.stderr_path = ZygoteLogBase(key.job_id) + ".err";
  ZygoteClient::Callbacks callbacks;
  callbacks.on_hello = [this, key](int threads) { OnHello(key, threads); };
  callbacks.on_spawned = [this, key](const WorkerId& id, pid_t pid) { OnSpawned(key, id, pid); };
  callbacks.on_exited = [this](pid_t pid, int status) { callbacks_.on_exit_status(pid, status); };
  callbacks.on_fork_failed = [this, key](const WorkerId& id, const std::string& error) {
    if (auto it = zygotes_.find(key); it != zygotes_.end()) it->second.forking.erase(id);
    callbacks_.on_failed(id, absl::ResourceExhaustedError("cannot fork a worker: " + error));
  };
  callbacks.on_lost = [this, key](const std::string& why) { OnLost(key, why); };
  auto client = ZygoteClient::Start(io_, spawn, std::move(callbacks));
  if (!client.ok()) {
    spdlog::error("cannot start the zygote of job {}: {}", key.job_id.Hex(), client.status().message());
    return nullptr;
  }
  Zygote& zygote = zygotes_[key];
  zygote.client = std::move(*client);
  zygote.program = std::move(program);
  spdlog::info("started the zygote of job {} (pid {})", key.job_id.Hex(), zygote.client->pid());
  return &zygote;
}

void WorkerLauncher::SendFork(Zygote& zygote, const Fork& fork) {
  absl::Status status = zygote.client->Fork(fork.worker_id, fork.env,
                                            WorkerOutputPath(options_.logs_dir, fork.worker_id, "out"),
                                            WorkerOutputPath(options_.logs_dir, fork.worker_id, "err"));
  if (!status.ok()) return callbacks_.on_failed(fork.worker_id, status);
  zygote.forking.insert(fork.worker_id);
}

void WorkerLauncher::OnHello(ZygoteKey key, int threads) {
  auto it = zygotes_.find(key);
  if (it == zygotes_.end()) return;
  Zygote& zygote = it->second;
  if (threads > 1) {
    spdlog::warn(
        "the worker program of job {} started {} threads before Orrery took over, so it cannot fork safely; "
        "starting each worker by exec instead (slower). Start threads after orrery::Init() to avoid this.",
        key.job_id.Hex(), threads);
    exec_only_jobs_.insert(key.job_id);
    std::vector<Fork> queued = std::move(zygote.queued);
    SpawnOptions program = std::move(zygote.program);
    Retire(key);  // it exits by itself
    for (const auto& fork : queued) Exec(fork.worker_id, key.job_id, fork.env, program);
    return;
  }
  zygote.ready = true;
  std::vector<Fork> queued = std::move(zygote.queued);
  for (const Fork& fork : queued) SendFork(zygote, fork);
}

void WorkerLauncher::OnSpawned(ZygoteKey key, const WorkerId& worker_id, pid_t pid) {
  if (auto it = zygotes_.find(key); it != zygotes_.end()) it->second.forking.erase(worker_id);
  // A process that is already gone still started: its exit status follows from the zygote.
  auto pidfd = OpenPidfd(pid);
  callbacks_.on_started(worker_id, pid, pidfd.ok() ? *pidfd : -1, /*is_child=*/false);
}

void WorkerLauncher::OnLost(ZygoteKey key, const std::string& why) {
  auto it = zygotes_.find(key);
  if (it == zygotes_.end()) return;
  spdlog::warn("the zygote of job {} exited: {}", key.job_id.Hex(), why);
  absl::Status error = absl::UnavailableError(absl::StrCat("the worker program of job ", key.job_id.Hex(), " exited (",
                                                           why, ") before it could start workers; see ",
                                                           ZygoteLogBase(key.job_id), ".err"));
  std::vector<WorkerId> unstarted;
  for (const Fork& fork : it->second.queued) unstarted.push_back(fork.worker_id);
  unstarted.insert(unstarted.end(), it->second.forking.begin(), it->second.forking.end());
  Retire(key);
  for (const WorkerId& id : unstarted) callbacks_.on_failed(id, error);
  callbacks_.on_zygote_lost(key.job_id, key.env_vars);
}

void WorkerLauncher::Retire(const ZygoteKey& key, std::chrono::milliseconds linger) {
  auto it = zygotes_.find(key);
  if (it == zygotes_.end()) return;
  // We may be inside the client's own callback: destroy it later, on the loop (and no sooner
  // than `linger` from now). A raylet stopping first destroys it with the loop's pending work.
  std::shared_ptr<ZygoteClient> client(std::move(it->second.client));
  zygotes_.erase(it);
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, linger);
  timer->async_wait([client, timer](const boost::system::error_code&) {});
}

bool WorkerLauncher::HasZygote(const JobId& job_id, const EnvVars& env_vars) const {
  return zygotes_.contains(ZygoteKey{job_id, env_vars});
}

void WorkerLauncher::EndJob(const JobId& job_id, std::chrono::milliseconds linger) {
  std::vector<ZygoteKey> keys;
  for (const auto& [key, zygote] : zygotes_) {
    if (key.job_id == job_id) keys.push_back(key);
  }
  for (const auto& key : keys) Retire(key, linger);
  exec_only_jobs_.erase(job_id);
}

void WorkerLauncher::Stop() {
  // Each client kills and reaps its zygote; forked workers die with it.
  zygotes_.clear();
}

}  // namespace orrery::raylet
