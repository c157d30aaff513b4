// Runtime: what the public templates call into liborrery through. One per process between
// Init() and Shutdown(); CurrentRuntime() is null outside them.
#pragma once

#include <cstdint>
#include <memory>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "orrery/export.h"
#include "orrery/internal/serialized_value.h"
#include "orrery/placement_group.h"
#include "orrery/scheduling.h"

namespace orrery::internal {

struct TaskArgument {
  bool is_ref = false;
  std::string object_id;  // when is_ref: binary id
  SerializedValue value;  // otherwise
};

struct TaskCall {
  std::string function_name;
  uint64_t signature_hash = 0;
  std::vector<TaskArgument> args;
  std::string name;
  // Empty: {CPU: 1}.
  std::unordered_map<std::string, double> resources;
  SchedulingStrategy strategy;
  // Placed in bundle `bundle_index` (-1: any) of this group (hex id); empty: in none.
  std::string placement_group_id;
  int bundle_index = -1;
  // Environment variables of its worker, on top of the job's (RuntimeEnv::env_vars).
  std::map<std::string, std::string> env_vars;
  // Retries after a system failure (its worker or node died, an OOM kill); -1: forever. Unset:
  // the default (3 for a task, the actor's max_task_retries for an actor call).
  std::optional<int> max_retries;
  // A call that threw is retried too, within max_retries: any exception, or (when
  // retry_exception_types is not empty) one whose type is named there.
  bool retry_exceptions = false;
  std::vector<std::string> retry_exception_types;
};

// Actor creation, as ActorCreator::Remote() hands it over.
struct ActorCreation {
  std::string factory_name;
  uint64_t signature_hash = 0;
  std::vector<TaskArgument> args;
  // Empty: an unnamed actor. The namespace empty: the job's.
  std::string name;
  std::string name_space;
  // Held while the actor lives. Empty: it needs {CPU: 1} to be placed and holds nothing after.
  std::unordered_map<std::string, double> resources;
  SchedulingStrategy strategy;
  std::string placement_group_id;
  int bundle_index = -1;
  int max_restarts = 0;        // -1: infinite
  int max_task_retries = 0;    // -1: infinite
  int max_concurrency = 1;
  // 0: the job's default; 1: non-detached (dies with its owner); 2: detached.
  int lifetime = 0;
  std::map<std::string, std::string> env_vars;
};

// What an ActorHandle holds: the actor's id, and (for a handle that keeps an unnamed,
// non-detached actor alive) the handle object whose references count the handles.
struct ActorHandleIds {
  std::string actor_id;    // binary
  std::string handle_ref;  // binary object id, or empty
};

// Thrown by ExitActor() inside an actor method; the executor ends the actor on catching it.
struct ActorExitSignal {};

class ORRERY_EXPORT Runtime {
 public:
  virtual ~Runtime() = default;

  // ObjectRef copies and destructors (binary ids).
  virtual void AddLocalRef(const std::string& object_id) = 0;
  virtual void RemoveLocalRef(const std::string& object_id) = 0;

  // Stores a value this process owns; returns its id, holding one local ref for the caller.
  // A value with a view and no keep_alive is lent: its bytes are copied before Put returns.
  virtual std::string Put(SerializedValue value) = 0;
  // The values of `object_ids`, in order; throws the stored error, or GetTimeoutError.
  // timeout_ms < 0: wait forever.
  virtual std::vector<std::shared_ptr<const SerializedValue>> Get(const std::vector<std::string>& object_ids,
                                                                  int64_t timeout_ms) = 0;
  // Which of `object_ids` are ready once `num_objects` are, or `timeout_ms` passed.
  virtual std::vector<bool> Wait(const std::vector<std::string>& object_ids, int num_objects, int64_t timeout_ms) = 0;
  // Submits a task; returns the id of its result, holding one local ref for the caller.
  // Blocks while the owner is past its bound of pending tasks (backpressure).
  virtual std::string Submit(TaskCall call) = 0;

  // Registers and starts creating an actor (returns at once, holding one local ref to the
  // handle object). Throws OrreryException naming a name already taken in its namespace.
  virtual ActorHandleIds CreateActor(ActorCreation creation) = 0;
  // Submits a method call to the actor (call.resources is ignored); returns its result's id.
  virtual std::string SubmitActorTask(const std::string& actor_id, TaskCall call) = 0;
  // no_restart: the actor is DEAD for good; otherwise it restarts if its budget allows.
  virtual void KillActor(const std::string& actor_id, bool no_restart) = 0;
  // The id of the live actor with this name in this namespace (empty: the job's), or "".
  virtual std::string GetNamedActor(const std::string& name, const std::string& name_space) = 0;
  // The job's namespace.
  virtual std::string Namespace() = 0;
  // This process's node (hex).
  virtual std::string NodeIdHex() = 0;
  // The alive nodes (hex), sorted.
  virtual std::vector<std::string> AliveNodeIds() = 0;
  // Inside an actor (a method or its constructor running on this thread): how many times it was
  // restarted; -1 elsewhere.
  virtual int CurrentActorRestarts() = 0;

  // Placement groups (ids in hex). Errors throw OrreryException.
  virtual PlacementGroup CreatePlacementGroup(const PlacementGroupCreationOptions& options) = 0;
  virtual void RemovePlacementGroup(const std::string& id) = 0;
  // Whether the group is CREATED within `timeout_ms`.
  virtual bool WaitPlacementGroupReady(const std::string& id, int64_t timeout_ms) = 0;
  // By id or, when `by_name`, by name in the job's namespace; an empty group when not found.
  virtual PlacementGroup FindPlacementGroup(const std::string& id_or_name, bool by_name) = 0;
  virtual std::vector<PlacementGroup> GetAllPlacementGroups() = 0;

  // A ref being serialized into a value: its owner, opaque to the caller.
  virtual std::string OwnerOf(const std::string& object_id) = 0;
  // A ref being deserialized from a value: this process borrows it (registered with its owner).
  virtual void Borrow(const RefInfo& ref) = 0;
};

// The process's runtime, or nullptr when not initialized.
ORRERY_EXPORT Runtime* CurrentRuntime();
// The runtime, or OrreryException("Orrery is not initialized: call orrery::Init() first").
ORRERY_EXPORT Runtime& RequireRuntime();

}  // namespace orrery::internal
