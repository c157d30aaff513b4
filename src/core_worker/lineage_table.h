// LineageTable: for the objects this process owns that a task (or an actor call) made in the
// object store, the task (its spec and resource shape) kept to make the object again when every copy of it is lost
// (its node died): lineage reconstruction, as in Ray. An entry lives while the object is known
// to the ReferenceCounter (held, or named by another object's lineage) and goes when it is
// forgotten. The specs kept are bounded in bytes: past the bound the oldest are evicted, and an
// object whose lineage was evicted cannot be made again. Plain bookkeeping, no I/O: the core
// worker does what its answers say (core_worker_recovery.cc). Thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "orrery/core_worker.pb.h"
#include "src/common/id.h"
#include "src/common/resource_set.h"

namespace orrery::core {

class LineageTable {
 public:
  // `default_retries`: the retries of a task that set none (SetMaxRetries).
  LineageTable(int64_t max_bytes, int default_retries) : max_bytes_(max_bytes), default_retries_(default_retries) {}

  // `task` (with the resources it ran with) made `result`, now stored in the object store. A
  // re-run's result updates the entry. Returns the objects whose lineage was evicted to stay
  // within the bound (their ReferenceCounter lineage must be dropped).
  std::vector<ObjectId> Record(const ObjectId& result, const rpc::TaskSpec& task, const ResourceSet& resources);
  // `result` is forgotten: its lineage goes.
  void Forget(const ObjectId& result);

  // What to do about `result` once every copy of it is lost.
  struct Rebuild {
    enum class Action {
      kRerun,       // re-run `task` (its attempt number already advanced) with `resources`
      kInProgress,  // a re-run is under way: wait for its result
      kFail,        // store `error` as the object's value
    };
    Action action = Action::kFail;
    rpc::TaskSpec task;
    ResourceSet resources;
    rpc::ErrorInfo error;
  };
  // `owner`: this process, for the errors; `why_lost`: how the copies were lost.
  Rebuild StartRebuild(const ObjectId& result, const rpc::WorkerAddress& owner, const std::string& why_lost);
  // A re-run of the task that made `result` ended without a result in the object store (it
  // failed for good, or its value came back small): it is not in progress any more.
  void EndRebuild(const ObjectId& result);

  int64_t bytes() const;
  size_t size() const;
  // Re-runs started so far.
  int64_t rebuilds() const;

 private:
  struct Entry {
    std::optional<rpc::TaskSpec> task;  // none once evicted
    bool evicted = false;
    ResourceSet resources;
    int64_t bytes = 0;
    bool rerunning = false;
    std::list<ObjectId>::iterator age;  // in age_ while its task is kept
  };
  void EvictLocked(Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int64_t max_bytes_;
  const int default_retries_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<ObjectId, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::list<ObjectId> age_ ABSL_GUARDED_BY(mu_);  // objects whose task is kept, oldest first
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t rebuilds_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace orrery::core
