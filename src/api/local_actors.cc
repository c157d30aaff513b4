#include "src/api/local_actors.h"

#include "absl/strings/str_cat.h"
#include "src/common/status.h"
#include "src/core_worker/actor_submitter.h"
#include "src/core_worker/core_worker.h"
#include "src/core_worker/invocation.h"

namespace orrery::api {

namespace {

// An actor's object is never destroyed, in local mode as on a cluster (where its worker process
// ends without running its destructor), so that a destructor with effects cannot make the
// modes differ. It stays reachable for the life of the process: kept on purpose, which leak
// checkers can see.
void KeepForLifeOfProcess(void* instance) {
  static std::mutex mu;
  static auto* kept = new std::vector<void*>();
  std::lock_guard<std::mutex> lock(mu);
  kept->push_back(instance);
}

}  // namespace

struct LocalActors::Call {
  uint64_t sequence = 0;
  ObjectId result;
  std::string function;
  uint64_t signature_hash = 0;
  LocalArgs args;
  int attempt = 0;
};

struct LocalActors::Actor {
  rpc::ActorInfo info;  // id, name, namespace, state, restarts, death: as the GCS keeps them
  ActorId id;
  ActorId owner;  // nil: the driver (or a task, which lives as long)
  bool detached = false;
  std::string factory;
  uint64_t signature_hash = 0;
  LocalArgs args;  // held while the factory may run again
  ResourceSet demand;
  std::optional<PlacementGroupId> group;
  int max_concurrency = 1;
  // Bumped by each restart: what a thread started under an older one is thrown away.
  int incarnation = 0;
  bool needs_instance = true;
  bool creating = false;
  void* instance = nullptr;
  std::deque<std::shared_ptr<Call>> queue;
  std::map<uint64_t, std::shared_ptr<Call>> running;
  std::vector<std::thread> threads;
  int threads_returned = 0;
  std::condition_variable changed;

  bool dead() const { return info.state() == rpc::ActorInfo::DEAD; }
  bool alive() const { return info.state() == rpc::ActorInfo::ALIVE; }
  bool CanRestart() const { return info.max_restarts() < 0 || info.num_restarts() < info.max_restarts(); }
};

LocalActors::LocalActors(LocalObjects& objects, LocalNode& node, std::string job_namespace, bool detached_by_default)
    : objects_(objects),
      node_(node),
      job_namespace_(std::move(job_namespace)),
      detached_by_default_(detached_by_default) {}

LocalActors::~LocalActors() { Stop(); }

absl::StatusOr<internal::ActorHandleIds> LocalActors::Create(internal::ActorCreation creation) {
  ResourceSet demand;
  if (!creation.resources.empty() || !creation.placement_group_id.empty()) {
    ORRERY_ASSIGN_OR_RETURN(demand, ResourceSet::FromDoubles(creation.resources));
    ORRERY_ASSIGN_OR_RETURN(demand, core::DemandInGroup(std::move(demand), creation.placement_group_id,
                                                         creation.bundle_index));
  } else {
    demand = ResourceSet::FromDoubles({{kCpu, 1}}).value();  // to be placed; held by nothing after
  }
  auto actor = std::make_shared<Actor>();
  actor->id = ActorId::FromRandom();
  actor->detached = creation.lifetime == 2 || (creation.lifetime == 0 && detached_by_default_);
  if (LocalExecution* execution = LocalExecution::Current()) actor->owner = execution->actor;
  actor->factory = std::move(creation.factory_name);
  actor->signature_hash = creation.signature_hash;
  actor->demand = std::move(demand);
  if (!creation.placement_group_id.empty()) {
    actor->group = PlacementGroupId::FromHex(creation.placement_group_id).value_or(PlacementGroupId());
  }
  actor->max_concurrency = std::max(1, creation.max_concurrency);
  rpc::ActorInfo& info = actor->info;
  info.set_actor_id(actor->id.Binary());
  info.set_name(creation.name);
  info.set_name_space(creation.name.empty() ? "" : creation.name_space.empty() ? job_namespace_ : creation.name_space);
  info.set_max_restarts(creation.max_restarts);
  info.set_max_task_retries(creation.max_task_retries);
  info.set_state(rpc::ActorInfo::PENDING_CREATION);

  internal::ActorHandleIds ids;
  ids.actor_id = actor->id.Binary();
  std::vector<std::thread> joinable;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return absl::UnavailableError("Orrery is shutting down");
    if (!creation.name.empty()) {
      auto key = std::make_pair(info.name_space(), info.name());
      if (names_.contains(key)) {
        return absl::AlreadyExistsError(absl::StrCat("an actor named '", info.name(), "' already exists in namespace '",
                                                     info.name_space(), "'"));
      }
      names_[key] = actor->id;
    }
    actors_[actor->id] = actor;
    ReapLocked(joinable);
  }
  for (std::thread& thread : joinable) thread.join();
  actor->args = objects_.Hold(std::move(creation.args));
  if (!actor->detached && creation.name.empty()) {
    // Its handles count through this object's references: when none is left, the actor goes.
    ObjectId handle = objects_.Put(internal::SerializedValue());
    std::lock_guard<std::mutex> lock(mu_);
    handle_objects_[handle] = actor->id;
    ids.handle_ref = handle.Binary();
  }
  Reschedule();
  return ids;
}

void LocalActors::Reschedule() {
  Aftermath after;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, actor] : actors_) {
      if (actor->dead() || !actor->threads.empty()) continue;
      if (actor->group.has_value() && node_.IsRemoved(*actor->group)) {
        DieLocked(*actor, rpc::ActorInfo::KILLED, "its placement group " + actor->group->Hex() + " was removed",
                  after);
      } else if (node_.CanHold(actor->demand)) {
        StartLocked(*actor);
      }
    }
    // Actors living in a removed group end with it, as their workers do.
    for (auto& [id, actor] : actors_) {
      if (!actor->dead() && actor->group.has_value() && node_.IsRemoved(*actor->group)) {
        DieLocked(*actor, rpc::ActorInfo::KILLED, "its placement group " + actor->group->Hex() + " was removed",
                  after);
      }
    }
  }
  Finish(after);
}

void LocalActors::StartLocked(Actor& actor) {
  std::shared_ptr<Actor> shared = actors_.at(actor.id);
  for (int i = 0; i < actor.max_concurrency; ++i) actor.threads.emplace_back([this, shared] { Loop(shared); });
}

void LocalActors::Loop(std::shared_ptr<Actor> actor) {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    actor->changed.wait(lock, [&] {
      return actor->dead() || (actor->needs_instance && !actor->creating) || (actor->alive() && !actor->queue.empty());
    });
    if (actor->dead()) break;
    if (actor->needs_instance) {
      CreateInstance(lock, *actor);
    } else {
      RunCall(lock, *actor);
    }
  }
  ++actor->threads_returned;
}

void LocalActors::CreateInstance(std::unique_lock<std::mutex>& lock, Actor& actor) {
  actor.creating = true;
  int incarnation = actor.incarnation;
  LocalExecution execution{actor.id, actor.info.num_restarts()};
  lock.unlock();
  rpc::ErrorInfo error;
  bool failed = false;
  void* instance = nullptr;
  std::vector<core::Value> args = objects_.Resolve(actor.args, &error, &failed);
  if (!failed) {
    const internal::RemoteFunction* factory = core::FindRemoteFunction(
        actor.factory, actor.signature_hash, internal::FunctionKind::kActorFactory, &error);
    if (factory == nullptr) {
      failed = true;
    } else {
      LocalExecution::Scope scope(&execution);
      core::Invocation created = core::Invoke(*factory, nullptr, args, actor.id);
      if (created.error.has_value()) {
        failed = true;
        error = std::move(*created.error);
      }
      instance = created.instance;
      if (instance != nullptr) KeepForLifeOfProcess(instance);
    }
  }
  objects_.ReleaseDeferred(execution);
  Aftermath after;
  lock.lock();
  actor.creating = false;
  if (incarnation == actor.incarnation && !actor.dead()) {
    if (failed) {
      DieLocked(actor, rpc::ActorInfo::CREATION_FAILED, "the actor's constructor failed: " + error.message(), after);
    } else {
      actor.instance = instance;
      actor.needs_instance = false;
      actor.info.set_state(rpc::ActorInfo::ALIVE);
    }
  }
  actor.changed.notify_all();
  lock.unlock();
  Finish(after);
  lock.lock();
}

void LocalActors::RunCall(std::unique_lock<std::mutex>& lock, Actor& actor) {
  std::shared_ptr<Call> call = std::move(actor.queue.front());
  actor.queue.pop_front();
  actor.running[call->sequence] = call;
  void* instance = actor.instance;
  LocalExecution execution{actor.id, actor.info.num_restarts()};
  lock.unlock();

  rpc::ErrorInfo error;
  bool failed = false;
  bool exited = false;
  internal::SerializedValue value;
  std::vector<core::Value> args = objects_.Resolve(call->args, &error, &failed);
  if (!failed) {
    const internal::RemoteFunction* method =
        core::FindRemoteFunction(call->function, call->signature_hash, internal::FunctionKind::kActorMethod, &error);
    if (method == nullptr) {
      failed = true;
    } else {
      LocalExecution::Scope scope(&execution);
      core::Invocation invoked = core::Invoke(*method, instance, args, actor.id);
      exited = invoked.exited;
      if (invoked.error.has_value()) {
        failed = true;
        error = std::move(*invoked.error);
      }
      value = std::move(invoked.value);
    }
  }

  Aftermath after;
  lock.lock();
  // Gone from `running`: a kill or restart failed or requeued it meanwhile.
  bool current = actor.running.erase(call->sequence) > 0;
  if (current && exited) {
    DieLocked(actor, rpc::ActorInfo::EXITED, "orrery::ExitActor() was called in one of its methods", after);
  }
  lock.unlock();
  if (current) {
    if (failed) {
      objects_.StoreError(call->result, std::move(error));
    } else {
      objects_.StoreResult(call->result, std::make_shared<const internal::SerializedValue>(std::move(value)));
    }
    objects_.Release(call->args);
  }
  objects_.ReleaseDeferred(execution);
  Finish(after);
  lock.lock();
}

ObjectId LocalActors::Submit(const ActorId& id, internal::TaskCall call) {
  auto queued = std::make_shared<Call>();
  TaskId task;
  queued->result = objects_.NewResult(&task);
  queued->function = std::move(call.function_name);
  queued->signature_hash = call.signature_hash;
  queued->args = objects_.Hold(std::move(call.args));
  Aftermath after;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queued->sequence = next_sequence_++;
    auto it = actors_.find(id);
    if (stopped_) {
      after.failed.emplace_back(queued, core::ActorShutdownErrorInfo());
    } else if (it == actors_.end()) {
      rpc::ErrorInfo error;
      error.set_type(rpc::ErrorInfo::ACTOR_DIED);
      error.set_function(queued->function);
      error.set_message("ray::internal::RayActorException: actor " + id.Hex() + " is unknown to this local-mode session");
      after.failed.emplace_back(queued, std::move(error));
    } else if (it->second->dead()) {
      after.failed.emplace_back(queued, core::ActorDiedErrorInfo(it->second->info, queued->function));
    } else {
      it->second->queue.push_back(queued);
      it->second->changed.notify_all();
    }
  }
  Finish(after);
  return queued->result;
}

absl::Status LocalActors::Kill(const ActorId& id, bool no_restart) {
  Aftermath after;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = actors_.find(id);
    if (it == actors_.end()) return absl::NotFoundError("no actor " + id.Hex());
    Actor& actor = *it->second;
    if (actor.dead()) return absl::OkStatus();
    std::string message = no_restart ? "ActorHandle::Kill() was called" : "ActorHandle::Kill(false) was called";
    bool started = actor.alive() || actor.creating;
    if (no_restart || !actor.CanRestart()) {
      DieLocked(actor, rpc::ActorInfo::KILLED, message, after);
    } else if (started) {
      RestartLocked(actor, after);
      KillOwnedByLocked(actor.id, "the actor's owner, an actor, was killed", after);
    }
    // Not started yet: it is being created already, which is what a restart would do.
  }
  Finish(after);
  return absl::OkStatus();
}

void LocalActors::RestartLocked(Actor& actor, Aftermath& after) {
  actor.info.set_num_restarts(actor.info.num_restarts() + 1);
  actor.info.set_state(rpc::ActorInfo::RESTARTING);
  ++actor.incarnation;
  actor.needs_instance = true;
  actor.instance = nullptr;  // not destroyed: see the class comment
  // The calls cut short run again on the new instance while their retries allow, first.
  int budget = actor.info.max_task_retries();
  for (auto it = actor.running.rbegin(); it != actor.running.rend(); ++it) {
    std::shared_ptr<Call> call = it->second;
    ++call->attempt;
    if (budget < 0 || call->attempt <= budget) {
      actor.queue.push_front(call);
      continue;
    }
    rpc::ErrorInfo error;
    error.set_type(rpc::ErrorInfo::ACTOR_DIED);
    error.set_function(call->function);
    error.set_message(absl::StrCat("ray::internal::RayActorException: actor ", actor.id.Hex(), " died while running ",
                                   call->function, " (it was killed; the call was tried ", call->attempt,
                                   " times, max_task_retries ", budget, "); the actor restarts"));
    after.failed.emplace_back(call, std::move(error));
  }
  actor.running.clear();
  actor.changed.notify_all();
}

void LocalActors::DieLocked(Actor& actor, rpc::ActorInfo::DeathCause cause, const std::string& message,
                            Aftermath& after) {
  if (actor.dead()) return;
  actor.info.set_state(rpc::ActorInfo::DEAD);
  actor.info.set_death_cause(cause);
  actor.info.set_death_message(message);
  actor.instance = nullptr;
  for (auto& [sequence, call] : actor.running) {
    after.failed.emplace_back(call, core::ActorDiedErrorInfo(actor.info, call->function));
  }
  actor.running.clear();
  for (auto& call : actor.queue) after.failed.emplace_back(call, core::ActorDiedErrorInfo(actor.info, call->function));
  actor.queue.clear();
  after.released.push_back(std::move(actor.args));
  actor.args = LocalArgs{};
  if (!actor.info.name().empty()) {
    auto name = names_.find(std::make_pair(actor.info.name_space(), actor.info.name()));
    if (name != names_.end() && name->second == actor.id) names_.erase(name);
  }
  actor.changed.notify_all();
  KillOwnedByLocked(actor.id, "the actor's owner, an actor, is dead", after);
}

void LocalActors::KillOwnedByLocked(const ActorId& owner, const std::string& message, Aftermath& after) {
  std::vector<std::shared_ptr<Actor>> owned;
  for (auto& [id, actor] : actors_) {
    if (actor->owner == owner && !actor->detached && !actor->dead()) owned.push_back(actor);
  }
  for (auto& actor : owned) DieLocked(*actor, rpc::ActorInfo::OWNER_DIED, message, after);
}

void LocalActors::OnObjectFreed(const ObjectId& id) {
  Aftermath after;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto handle = handle_objects_.find(id);
    if (handle == handle_objects_.end()) return;
    auto actor = actors_.find(handle->second);
    handle_objects_.erase(handle);
    if (actor != actors_.end()) {
      DieLocked(*actor->second, rpc::ActorInfo::OUT_OF_SCOPE, "every handle to it was gone", after);
    }
  }
  Finish(after);
}

std::optional<ActorId> LocalActors::Named(const std::string& name, const std::string& name_space) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = names_.find(std::make_pair(name_space.empty() ? job_namespace_ : name_space, name));
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

void LocalActors::Finish(Aftermath& after) {
  for (auto& [call, error] : after.failed) {
    objects_.StoreError(call->result, std::move(error));
    objects_.Release(call->args);
  }
  for (const LocalArgs& args : after.released) objects_.Release(args);
  after = Aftermath{};
}

void LocalActors::ReapLocked(std::vector<std::thread>& joinable) {
  for (auto& [id, actor] : actors_) {
    if (!actor->dead() || actor->threads.empty() ||
        actor->threads_returned < static_cast<int>(actor->threads.size())) {
      continue;
    }
    for (std::thread& thread : actor->threads) joinable.push_back(std::move(thread));
    actor->threads.clear();
    actor->threads_returned = 0;
  }
}

void LocalActors::Stop() {
  Aftermath after;
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [id, actor] : actors_) {
      for (auto& [sequence, call] : actor->running) after.failed.emplace_back(call, core::ActorShutdownErrorInfo());
      for (auto& call : actor->queue) after.failed.emplace_back(call, core::ActorShutdownErrorInfo());
      actor->running.clear();
      actor->queue.clear();
      DieLocked(*actor, rpc::ActorInfo::OWNER_DIED, "the actor's job ended", after);
      for (std::thread& thread : actor->threads) threads.push_back(std::move(thread));
      actor->threads.clear();
    }
    handle_objects_.clear();
  }
  // Failing the calls not run may wake the methods that wait for them.
  Finish(after);
  for (std::thread& thread : threads) thread.join();
}

}  // namespace orrery::api
