// LogForwarder: a worker's stdout and stderr reach its driver's terminal. Both descriptors are
// replaced by pipes; a thread per pipe reads whole lines, copies them to the original files (the
// worker's .out/.err logs) and sends them to the driver (PublishLogs), which prints each with
// the worker's id and pid in front.
#pragma once

#include <memory>
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
  void Pump(int read_fd, int original_fd, bool is_stderr);

  const WorkerId worker_id_;
  std::shared_ptr<CoreWorkerClient> driver_;
  std::vector<std::thread> threads_;
};

}  // namespace orrery::core
