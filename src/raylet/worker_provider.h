// WorkerProvider: what the lease manager needs from the worker pool. The raylet uses the real
// WorkerPool; unit tests use FakeWorkerProvider (fake_worker_provider.h).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "src/raylet/worker.h"

namespace orrery::raylet {

class WorkerProvider {
 public:
  using PopCallback = std::function<void(absl::StatusOr<std::shared_ptr<Worker>>)>;

  virtual ~WorkerProvider() = default;
  // Hands `done` an idle worker of `key` (starting one if needed), or an error.
  virtual void PopWorker(const WorkerKey& key, PopCallback done) = 0;
  // A lease ended: the worker is idle again.
  virtual void PushWorker(const std::shared_ptr<Worker>& worker) = 0;
  // Ends a worker on purpose.
  virtual void KillWorker(const std::shared_ptr<Worker>& worker, const std::string& reason) = 0;
  virtual std::shared_ptr<Worker> Find(const WorkerId& worker_id) const = 0;
  // CPUs lent by blocked workers raise the task-worker cap by as many.
  virtual void SetLentCpus(int lent) = 0;
};

}  // namespace orrery::raylet
