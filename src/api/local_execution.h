// What the thread running user code in local mode is doing: which actor (if any) it runs for,
// and the refs the code serialized. One per thread, set by whoever runs a task, a method or a
// factory (LocalRuntime, LocalActors) for its duration.
#pragma once

#include <vector>

#include "absl/container/flat_hash_set.h"
#include "src/common/id.h"

namespace orrery::api {

struct LocalExecution {
  // Inside an actor's factory or method: the actor, and how often it was restarted.
  ActorId actor;
  int actor_restarts = -1;
  // Refs serialized here (OwnerOf was asked): the result may carry them out.
  absl::flat_hash_set<ObjectId> packed;
  // Local refs dropped to those, kept until the result holds what it contains (see LocalObjects).
  std::vector<ObjectId> deferred_releases;

  // This thread's, or null outside user code that local mode runs.
  static LocalExecution* Current();

  // Makes `execution` this thread's for the scope's life.
  class Scope {
   public:
    explicit Scope(LocalExecution* execution);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    LocalExecution* previous_;
  };
};

}  // namespace orrery::api
