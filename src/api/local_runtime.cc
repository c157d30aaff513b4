#include "src/api/local_runtime.h"

#include "absl/strings/str_cat.h"
#include "orrery/errors.h"
#include "src/api/errors.h"
#include "src/api/runtime_ids.h"
#include "src/common/random.h"
#include "src/core_worker/core_worker.h"
#include "src/core_worker/invocation.h"
#include "src/core_worker/object_conversion.h"
#include "src/core_worker/retry_policy.h"

namespace orrery::api {

namespace {

rpc::ErrorInfo ErrorOf(rpc::ErrorInfo::Type type, const std::string& function, const std::string& message) {
  rpc::ErrorInfo error;
  error.set_type(type);
  error.set_function(function);
  error.set_message(message);
  return error;
}

// What becomes of a task that had not started when Shutdown() came, as in cluster mode.
rpc::ErrorInfo ShuttingDown(const std::string& function) {
  return ErrorOf(rpc::ErrorInfo::WORKER_CRASHED, function, "Orrery is shutting down");
}

}  // namespace

// A normal task, from Submit until its result is stored.
struct LocalRuntime::Task {
  ObjectId result;
  std::string function;
  uint64_t signature_hash = 0;
  LocalArgs args;
  ResourceSet demand;
  std::optional<PlacementGroupId> group;
  // Retries of an exception it asked to retry (local mode has no system failures).
  int max_retries = core::kDefaultTaskRetries;
  bool retry_exceptions = false;
  std::vector<std::string> retry_exception_types;
};

LocalRuntime::LocalRuntime(LocalRuntimeOptions options)
    : job_namespace_(options.job_namespace.empty() ? HexEncode(RandomBytes(8)) : options.job_namespace),
      objects_(node_id_, [this](const ObjectId& id) { actors_.OnObjectFreed(id); }),
      node_(node_id_, std::move(options.node_resources), [this] { Reschedule(); }),
      pool_(options.task_threads),
      actors_(objects_, node_, job_namespace_, options.detached_actors_by_default) {}

LocalRuntime::~LocalRuntime() { Stop(); }

void LocalRuntime::Stop() {
  std::vector<std::shared_ptr<Task>> parked;
  {
    std::lock_guard<std::mutex> lock(parked_mu_);
    if (stopped_) return;
    stopped_ = true;
    parked.swap(parked_);
  }
  node_.Stop();
  for (auto& task : parked) Fail(*task, ShuttingDown(task->function));
  // Actors first: a task waiting on a call wakes with its error, and the pool's join ends.
  actors_.Stop();
  pool_.Stop();
}

// ---- objects ----

void LocalRuntime::AddLocalRef(const std::string& object_id) {
  if (auto id = ObjectId::FromBinary(object_id); id.ok()) objects_.AddLocalRef(*id);
}

void LocalRuntime::RemoveLocalRef(const std::string& object_id) {
  if (auto id = ObjectId::FromBinary(object_id); id.ok()) objects_.RemoveLocalRef(*id);
}

std::string LocalRuntime::Put(internal::SerializedValue value) { return objects_.Put(std::move(value)).Binary(); }

std::function<void()> LocalRuntime::BlockHook(bool blocked) {
  if (LocalTaskPool::Current() != &pool_) return nullptr;
  return [this, blocked] { blocked ? pool_.Blocked() : pool_.Unblocked(); };
}

std::vector<std::shared_ptr<const internal::SerializedValue>> LocalRuntime::Get(
    const std::vector<std::string>& object_ids, int64_t timeout_ms) {
  std::vector<ObjectId> ids = ToObjectIds(object_ids);
  std::vector<core::Value> values = objects_.Get(ids, timeout_ms, BlockHook(true), BlockHook(false));
  RaiseGetErrors(ids, values, timeout_ms);
  return values;
}

std::vector<bool> LocalRuntime::Wait(const std::vector<std::string>& object_ids, int num_objects, int64_t timeout_ms) {
  return objects_.Wait(ToObjectIds(object_ids), num_objects, timeout_ms, BlockHook(true), BlockHook(false));
}

std::string LocalRuntime::OwnerOf(const std::string& object_id) { return objects_.OwnerOf(ToObjectId(object_id)); }

void LocalRuntime::Borrow(const internal::RefInfo& ref) { objects_.Borrow(ToObjectId(ref.object_id)); }

// ---- tasks ----

std::string LocalRuntime::Submit(internal::TaskCall call) {
  auto task = std::make_shared<Task>();
  TaskId task_id;
  task->result = objects_.NewResult(&task_id);
  task->function = std::move(call.function_name);
  task->signature_hash = call.signature_hash;
  task->args = objects_.Hold(std::move(call.args));
  task->max_retries = call.max_retries.value_or(core::kDefaultTaskRetries);
  task->retry_exceptions = call.retry_exceptions;
  task->retry_exception_types = std::move(call.retry_exception_types);
  // The demand is checked as the core worker checks it; resources are not counted here, only
  // whether the node could ever hold them (what no node has stays pending, as in a cluster).
  absl::StatusOr<ResourceSet> demand = ResourceSet::FromDoubles(
      call.resources.empty() ? std::unordered_map<std::string, double>{{kCpu, 1}} : call.resources);
  if (demand.ok()) demand = core::DemandInGroup(std::move(*demand), call.placement_group_id, call.bundle_index);
  std::optional<rpc::ErrorInfo> error;
  if (!demand.ok()) {
    error = ErrorOf(rpc::ErrorInfo::TASK_ERROR, task->function, std::string(demand.status().message()));
  } else if (call.strategy.kind == SchedulingStrategy::Kind::kNodeAffinity && !call.strategy.soft &&
             call.strategy.node_id != node_.id().Hex()) {
    error = ErrorOf(rpc::ErrorInfo::UNSCHEDULABLE, task->function,
                    absl::StrCat("no node may run ", task->function, ": its node affinity names '",
                                 call.strategy.node_id, "', not local mode's node ", node_.id().Hex()));
  }
  std::string result = task->result.Binary();
  if (error.has_value()) {
    Fail(*task, std::move(*error));
    return result;
  }
  task->demand = std::move(*demand);
  if (!call.placement_group_id.empty()) {
    task->group = PlacementGroupId::FromHex(call.placement_group_id).value_or(PlacementGroupId());
  }
  Schedule(std::move(task));
  return result;
}

void LocalRuntime::Schedule(std::shared_ptr<Task> task) {
  if (task->group.has_value() && node_.IsRemoved(*task->group)) {
    return Fail(*task, ErrorOf(rpc::ErrorInfo::UNSCHEDULABLE, task->function,
                               "placement group " + task->group->Hex() + " was removed"));
  }
  if (!node_.CanHold(task->demand)) {
    {
      std::lock_guard<std::mutex> lock(parked_mu_);
      if (!stopped_) {
        parked_.push_back(std::move(task));
        return;
      }
    }
    return Fail(*task, ShuttingDown(task->function));
  }
  objects_.WhenReady(task->args, [this, task] {
    pool_.Post(LocalTaskPool::Work{[this, task] { Run(*task); },
                                   [this, task] { Fail(*task, ShuttingDown(task->function)); }});
  });
}

void LocalRuntime::Fail(Task& task, rpc::ErrorInfo error) {
  objects_.StoreError(task.result, std::move(error));
  objects_.Release(task.args);
}

void LocalRuntime::Run(Task& task) {
  rpc::ErrorInfo error;
  bool failed = false;
  std::vector<core::Value> args = objects_.Resolve(task.args, &error, &failed);
  const internal::RemoteFunction* function = nullptr;
  if (!failed) {
    function = core::FindRemoteFunction(task.function, task.signature_hash, internal::FunctionKind::kFunction, &error);
    failed = function == nullptr;
  }
  if (failed) {
    objects_.StoreError(task.result, std::move(error));
  } else {
    LocalExecution execution;
    {
      LocalExecution::Scope scope(&execution);
      core::Invocation invoked = core::Invoke(*function, nullptr, args, ActorId());
      for (int attempt = 1; invoked.error.has_value() && core::WithinRetries(attempt, task.max_retries) &&
                            core::RetriesException(task.retry_exceptions, task.retry_exception_types, *invoked.error);
           ++attempt) {
        invoked = core::Invoke(*function, nullptr, args, ActorId());
      }
      if (invoked.error.has_value()) {
        objects_.StoreError(task.result, std::move(*invoked.error));
      } else {
        objects_.StoreResult(task.result, std::make_shared<const internal::SerializedValue>(std::move(invoked.value)));
      }
    }
    objects_.ReleaseDeferred(execution);
  }
  objects_.Release(task.args);
}

void LocalRuntime::Reschedule() {
  std::vector<std::shared_ptr<Task>> parked;
  {
    std::lock_guard<std::mutex> lock(parked_mu_);
    parked.swap(parked_);
  }
  for (auto& task : parked) Schedule(std::move(task));
  actors_.Reschedule();
}

// ---- actors ----

internal::ActorHandleIds LocalRuntime::CreateActor(internal::ActorCreation creation) {
  std::string name = creation.name;
  absl::StatusOr<internal::ActorHandleIds> ids = actors_.Create(std::move(creation));
  if (!ids.ok()) ThrowActorCreationError(name, ids.status());
  return *ids;
}

std::string LocalRuntime::SubmitActorTask(const std::string& actor_id, internal::TaskCall call) {
  return actors_.Submit(ToActorId(actor_id), std::move(call)).Binary();
}

void LocalRuntime::KillActor(const std::string& actor_id, bool no_restart) {
  ActorId id = ToActorId(actor_id);
  absl::Status status = actors_.Kill(id, no_restart);
  if (!status.ok()) throw OrreryException("killing actor " + id.Hex() + ": " + std::string(status.message()));
}

std::string LocalRuntime::GetNamedActor(const std::string& name, const std::string& name_space) {
  std::optional<ActorId> id = actors_.Named(name, name_space);
  return id.has_value() ? id->Binary() : std::string();
}

int LocalRuntime::CurrentActorRestarts() {
  LocalExecution* execution = LocalExecution::Current();
  return execution == nullptr || execution->actor.IsNil() ? -1 : execution->actor_restarts;
}

// ---- placement groups ----

PlacementGroup LocalRuntime::CreatePlacementGroup(const PlacementGroupCreationOptions& options) {
  return node_.Create(options);
}

void LocalRuntime::RemovePlacementGroup(const std::string& id) { node_.Remove(id); }

bool LocalRuntime::WaitPlacementGroupReady(const std::string& id, int64_t timeout_ms) {
  return node_.WaitReady(id, timeout_ms);
}

PlacementGroup LocalRuntime::FindPlacementGroup(const std::string& id_or_name, bool by_name) {
  return node_.Find(id_or_name, by_name);
}

std::vector<PlacementGroup> LocalRuntime::GetAllPlacementGroups() { return node_.All(); }

}  // namespace orrery::api
