// LocalActors: local mode's actors. Each lives in this process with threads of its own
// (max_concurrency of them): its factory runs on one, then its calls run in submission order,
// one at a time (or up to max_concurrency at once). Death, restarts, names and owners follow
// the GCS's rules (src/gcs/gcs_actor_manager.cc) and calls fail with the same errors: a failed
// constructor, Kill, ExitActor, the death of the actor that created it, the last handle gone.
// An actor's object is never destroyed (as in cluster mode, where its process just ends);
// a method running at a kill runs to its end, its result thrown away.
// Threads: any thread calls in; one mutex guards every actor. User code and everything that
// may call back (storing results, releasing refs) run outside it.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "orrery/core_worker.pb.h"
#include "orrery/gcs.pb.h"
#include "orrery/internal/runtime.h"
#include "src/api/local_node.h"
#include "src/api/local_objects.h"

namespace orrery::api {

class LocalActors {
 public:
  LocalActors(LocalObjects& objects, LocalNode& node, std::string job_namespace, bool detached_by_default);
  ~LocalActors();

  // Errors: a name taken in its namespace (ALREADY_EXISTS), invalid resources or group.
  absl::StatusOr<internal::ActorHandleIds> Create(internal::ActorCreation creation);
  // Returns the call's result id (an error stored there if the actor is dead).
  ObjectId Submit(const ActorId& actor, internal::TaskCall call);
  // NOT_FOUND for an actor never created here.
  absl::Status Kill(const ActorId& actor, bool no_restart);
  std::optional<ActorId> Named(const std::string& name, const std::string& name_space);
  // An object was freed: if it was an actor's handle object, the actor ends.
  void OnObjectFreed(const ObjectId& id);
  // The node's groups changed: actors waiting for room start; those of removed groups die.
  void Reschedule();
  // Fails every call not run yet, ends every actor, waits for the methods running. Idempotent.
  void Stop();

 private:
  struct Call;
  struct Actor;
  // Calls to fail, and actors' held arguments to release: done outside the lock.
  struct Aftermath {
    std::vector<std::pair<std::shared_ptr<Call>, rpc::ErrorInfo>> failed;
    std::vector<LocalArgs> released;
  };

  void Loop(std::shared_ptr<Actor> actor);
  // Runs the factory of the actor's current incarnation (on one of its threads).
  void CreateInstance(std::unique_lock<std::mutex>& lock, Actor& actor);
  void RunCall(std::unique_lock<std::mutex>& lock, Actor& actor);
  void StartLocked(Actor& actor);
  void DieLocked(Actor& actor, rpc::ActorInfo::DeathCause cause, const std::string& message, Aftermath& after);
  // Kill(false) or a restartable death: the factory runs again; running calls retry or fail.
  void RestartLocked(Actor& actor, Aftermath& after);
  void KillOwnedByLocked(const ActorId& owner, const std::string& message, Aftermath& after);
  void Finish(Aftermath& after);
  // Joins the threads of dead actors that have all returned.
  void ReapLocked(std::vector<std::thread>& joinable);

  LocalObjects& objects_;
  LocalNode& node_;
  const std::string job_namespace_;
  const bool detached_by_default_;

  std::mutex mu_;
  absl::flat_hash_map<ActorId, std::shared_ptr<Actor>> actors_;
  std::map<std::pair<std::string, std::string>, ActorId> names_;  // (namespace, name)
  absl::flat_hash_map<ObjectId, ActorId> handle_objects_;
  uint64_t next_sequence_ = 0;
  bool stopped_ = false;
};

}  // namespace orrery::api
