// LocalObjects: local mode's objects: values in an in-process MemoryStore, counted by a
// ReferenceCounter that owns every object (there is one process, so no borrowers), both the
// core worker's own classes. It also holds a call's arguments while the call may run, and
// stores its result with the refs the result contains.
// Threads: any (user threads, task and actor threads); the store and counter lock themselves.
// Errors are stored values (Format::kError): Get hands them back for the caller to raise.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "orrery/core_worker.pb.h"
#include "orrery/internal/runtime.h"
#include "src/api/local_execution.h"
#include "src/common/id.h"
#include "src/core_worker/id_generator.h"
#include "src/core_worker/memory_store.h"
#include "src/core_worker/reference_counter.h"

namespace orrery::api {

// A call's arguments, held from submission until Release: each is a ref (resolved to its value
// when the call runs) or an inline value.
struct LocalArgs {
  std::vector<ObjectId> refs;         // per argument: the ref's id, nil for an inline value
  std::vector<core::Value> values;    // per argument: the inline value, null for a ref
  std::vector<ObjectId> held;         // ref arguments and the refs inside inline values
};

class LocalObjects {
 public:
  // `on_free`: an object nothing holds any more was dropped (an actor's handle object, say).
  LocalObjects(const NodeId& node, std::function<void(const ObjectId&)> on_free);

  // ---- the Runtime's object side ----
  void AddLocalRef(const ObjectId& id) { references_.AddLocalRef(id); }
  // Inside user code, a ref it serialized is released only once its result holds what it
  // contains (ReleaseDeferred): a returned ObjectRef dies before the result is stored.
  void RemoveLocalRef(const ObjectId& id);
  // A lent view is copied; the caller holds one local ref.
  ObjectId Put(internal::SerializedValue value);
  // Values in order; null where `timeout_ms` ran out; an unknown object is lost at once.
  // `on_block`/`on_unblock` run around a real wait (a task lends its thread: LocalTaskPool).
  std::vector<core::Value> Get(const std::vector<ObjectId>& ids, int64_t timeout_ms,
                               const std::function<void()>& on_block, const std::function<void()>& on_unblock);
  std::vector<bool> Wait(const std::vector<ObjectId>& ids, int num_objects, int64_t timeout_ms,
                         const std::function<void()>& on_block, const std::function<void()>& on_unblock);
  // Opaque, as the runtime's owner of every object; noted for the deferred releases.
  std::string OwnerOf(const ObjectId& id);
  void Borrow(const ObjectId& id);

  // ---- calls ----
  // A new call's result, held by one local ref for the caller.
  ObjectId NewResult(TaskId* task_id);
  // Takes the arguments and holds their refs until Release.
  LocalArgs Hold(std::vector<internal::TaskArgument> args);
  // Runs `ready` once every ref argument exists (at once when they do; an unknown one is lost).
  void WhenReady(const LocalArgs& args, std::function<void()> ready);
  // The arguments' values (waiting for refs); the first error among them, if any, in `*error`.
  std::vector<core::Value> Resolve(const LocalArgs& args, rpc::ErrorInfo* error, bool* failed);
  void Release(const LocalArgs& args) { references_.RemoveSubmittedRefs(args.held); }
  // Stores a call's result, holding the refs inside it; nothing if every ref to it is gone.
  void StoreResult(const ObjectId& id, core::Value value);
  // Stores an error as a call's result; one raised here says where (this node and pid).
  void StoreError(const ObjectId& id, rpc::ErrorInfo error);
  // Applies the releases RemoveLocalRef deferred while `execution` ran.
  void ReleaseDeferred(LocalExecution& execution);

 private:
  // An object no ref reached this process for is lost, as in cluster mode.
  void MarkUnknownLost(const std::vector<ObjectId>& ids);

  const NodeId node_;
  const rpc::WorkerAddress self_;
  core::TaskIdGenerator task_ids_;
  core::MemoryStore store_;
  core::ReferenceCounter references_;
};

}  // namespace orrery::api
