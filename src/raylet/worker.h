// Worker: what the raylet knows about one worker or driver process on its node.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/hash/hash.h"
#include "boost/asio/posix/stream_descriptor.hpp"
#include "orrery/node_manager.pb.h"
#include "src/common/id.h"

namespace orrery::raylet {

// A task's or actor's environment variables (runtime_env env_vars), on top of its job's.
using EnvVars = std::map<std::string, std::string>;

// Workers are interchangeable only within a key: the same job, environment variables and GPU
// set (CUDA reads CUDA_VISIBLE_DEVICES once, so a warm worker never changes GPUs), and the
// same kind (task or actor worker).
struct WorkerKey {
  JobId job_id;
  EnvVars env_vars;
  std::string gpu_ids;  // "0,1"; empty for none
  bool is_actor = false;

  friend bool operator==(const WorkerKey&, const WorkerKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const WorkerKey& k) {
    return H::combine(std::move(h), k.job_id, k.env_vars, k.gpu_ids, k.is_actor);
  }
  std::string ToString() const;
};

// logs/worker-<id>.<ext>: where a worker's stdout ("out") and stderr ("err") go.
std::string WorkerOutputPath(const std::string& logs_dir, const WorkerId& worker_id, const char* ext);

struct Worker {
  enum class State { kStarting, kIdle, kLeased, kExiting };

  Worker(WorkerId id, WorkerKey key, rpc::WorkerType type, boost::asio::io_context& io)
      : id(id), key(std::move(key)), type(type), pidfd(io) {}

  const WorkerId id;
  const WorkerKey key;
  const rpc::WorkerType type;
  State state = State::kStarting;
  pid_t pid = -1;
  // Readable once the process has exited; how the raylet learns of every death.
  boost::asio::posix::stream_descriptor pidfd;
  bool is_child = false;           // started by exec from the raylet (reap it ourselves)
  bool from_zygote = false;
  // The raylet escalated to SIGKILL after the grace period.
  bool force_killed = false;
  std::optional<int> wait_status;  // from waitid() or the zygote, once known
  bool exited = false;             // the pidfd fired
  int port = 0;
  int64_t start_ms = 0;
  int64_t idle_since_ms = 0;
  LeaseId lease_id;
  WorkerId lease_holder;
  bool blocked = false;
  std::string exit_reason;         // why the raylet ended it (kExiting)
  bool killed_for_memory = false;  // by the memory monitor (exit_reason says why)
  std::string stderr_path;

  rpc::WorkerStats::State StatsState() const;
};

}  // namespace orrery::raylet
