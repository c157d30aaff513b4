// LogForwarder: a worker's stdout and stderr reach its driver's terminal. Both descriptors are
// replaced by pipes; a thread per pipe reads whole lines, copies them to the original files (the
// worker's .out/.err logs) and sends them to the driver (PublishLogs), which prints each with
// the worker's id and pid in front. A worker being ended (SIGTERM, from its raylet) first lets
// what it wrote reach its files, then ends by that SIGTERM as before.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "orrery/core_worker.grpc.pb.h"
#include "src/common/id.h"
#include "src/core_worker/owner_clients.h"

namespace orrery::core {

class LogForwarder {
 public:
  LogForwarder(WorkerId worker_id, std::shared_ptr<CoreWorkerClient> driver);
  // The threads run until the process exits: a worker's output goes on until its last line.
  ~LogForwarder() = default;

  // Redirects fds 1 and 2. An error leaves them as they were.
  absl::Status Start();

 private:
  // Runs a pipe's copying until its end, then counts itself out.
  void Pump(int read_fd, int original_fd, bool is_stderr);
  void Forward(int read_fd, int original_fd, bool is_stderr);
  // Has SIGTERM drain the pipes before the process ends (src/common/termination.h).
  absl::Status DrainOnTermination();

  const WorkerId worker_id_;
  std::shared_ptr<CoreWorkerClient> driver_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable pumps_done_;
  int pumps_running_ = 0;
};

}  // namespace orrery::core
