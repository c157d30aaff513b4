// WorkerLauncher: starts the processes of a node's workers. A job's workers are forked from its
// zygote (its worker program, exec'd once per job and set of environment variables), or exec'd
// one by one when the zygote cannot fork. It reports what came of each start: a process, or why
// none.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "boost/asio/io_context.hpp"
#include "orrery/gcs.pb.h"
#include "src/raylet/worker.h"
#include "src/common/process.h"
#include "src/raylet/zygote_client.h"

namespace orrery::raylet {

// A job, as this node starts its workers.
struct JobLaunch {
  const rpc::JobConfig* config = nullptr;
  // Where the job's working_dir is unpacked on this node: its workers' current directory, and
  // where a relative worker_command[0] is found. Empty: the job has none.
  std::string working_dir;
};

// Owned and called by the raylet event loop only: processes are started from that thread, so
// they die with it (PR_SET_PDEATHSIG).
class WorkerLauncher {
 public:
  struct Options {
    NodeId node_id;
    std::string node_ip;
    std::string raylet_socket;  // unix:/path for local workers
    std::string gcs_address;
    std::string token;
    std::string session_dir;
    std::string logs_dir;
    int64_t gcs_lost_timeout_ms = 60'000;  // the node's budget for an unreachable GCS
    bool bind_all = false;                 // workers listen on every interface, as their raylet
  };
  struct Callbacks {
    // The worker's process exists. `pidfd` (-1 if the process is already gone) now belongs to
    // the callee; `is_child`: the process is the raylet's own child, reap it with the pidfd.
    std::function<void(const WorkerId&, pid_t pid, int pidfd, bool is_child)> on_started;
    // No process came of the start: it could not be exec'd or forked, or its zygote died first.
    std::function<void(const WorkerId&, const absl::Status&)> on_failed;
    // The exit status of a zygote's child, as the zygote reaped it.
    std::function<void(pid_t, int wait_status)> on_exit_status;
    // A zygote is gone: its children's exit statuses will not be reported any more.
    std::function<void(const JobId&, const EnvVars&)> on_zygote_lost;
  };

  WorkerLauncher(boost::asio::io_context& io, Options options, Callbacks callbacks);

  // Starts `worker` (its id and key set) for `job`.
  void Launch(const Worker& worker, const JobLaunch& job);
  // Whether the zygote of (job, environment) still runs and so reports its children's statuses.
  bool HasZygote(const JobId& job_id, const EnvVars& env_vars) const;
  // The job ended: its zygotes go (their workers die with them) once `linger` has passed, so
  // that the workers ended meanwhile (SIGTERM, with a grace period) can finish what they do on
  // their way out: send their last task events, flush their output.
  void EndJob(const JobId& job_id, std::chrono::milliseconds linger = std::chrono::milliseconds(0));
  // Retires every zygote.
  void Stop();

  int num_zygotes() const { return static_cast<int>(zygotes_.size()); }

 private:
  struct ZygoteKey {
    JobId job_id;
    EnvVars env_vars;
    friend bool operator==(const ZygoteKey&, const ZygoteKey&) = default;
    template <typename H>
    friend H AbslHashValue(H h, const ZygoteKey& k) {
      return H::combine(std::move(h), k.job_id, k.env_vars);
    }
  };
  struct Fork {
    WorkerId worker_id;
    std::map<std::string, std::string> env;
  };
  struct Zygote {
    std::unique_ptr<ZygoteClient> client;
    SpawnOptions program;            // to exec the queued forks if the zygote cannot fork
    bool ready = false;              // said hello; forks go straight to it
    std::vector<Fork> queued;        // waiting for the hello
    absl::flat_hash_set<WorkerId> forking;  // asked to fork, no pid reported yet
  };

  // How the job's program starts for `key`: its argv, folder and environment (the job's, the
  // key's variables, then Orrery's), without the per-worker variables.
  SpawnOptions JobProgram(const ZygoteKey& key, const JobLaunch& job) const;
  std::map<std::string, std::string> WorkerEnvironment(const Worker& worker) const;
  void Exec(const WorkerId& worker_id, const JobId& job_id, const std::map<std::string, std::string>& worker_env,
            SpawnOptions program);
  Zygote* GetOrStartZygote(const ZygoteKey& key, const JobLaunch& job);
  void SendFork(Zygote& zygote, const Fork& fork);
  void OnHello(ZygoteKey key, int threads);
  void OnSpawned(ZygoteKey key, const WorkerId& worker_id, pid_t pid);
  void OnLost(ZygoteKey key, const std::string& why);
  void Retire(const ZygoteKey& key, std::chrono::milliseconds linger = std::chrono::milliseconds(0));
  std::string ZygoteLogBase(const JobId& job_id) const;

  boost::asio::io_context& io_;
  const Options options_;
  Callbacks callbacks_;
  absl::flat_hash_map<ZygoteKey, Zygote> zygotes_;
  // Jobs whose program had threads before it could fork: every worker is exec'd.
  absl::flat_hash_set<JobId> exec_only_jobs_;
};

}  // namespace orrery::raylet
