// CoreWorker's actor side: creating actors (registered with the GCS, which places and starts
// them), calling them (ActorSubmitter), killing and finding them by name.
#include "absl/strings/str_cat.h"
#include "src/common/log.h"
#include "src/common/resource_set.h"
#include "src/common/status.h"
#include "src/core_worker/core_worker.h"
#include "src/core_worker/object_conversion.h"
#include "src/rpc/retried_call.h"

namespace orrery::core {

namespace {
using GcsStub = rpc::GcsService::Stub;
}  // namespace

absl::StatusOr<internal::ActorHandleIds> CoreWorker::CreateActor(internal::ActorCreation creation) {
  rpc::RegisterActorRequest request;
  rpc::ActorInfo* info = request.mutable_actor();
  if (!creation.resources.empty() || !creation.placement_group_id.empty()) {
    // In a group, an actor naming no resources holds only its bundle's marker: enough to
    // place it on the bundle's node.
    ORRERY_ASSIGN_OR_RETURN(ResourceSet resources, ResourceSet::FromDoubles(creation.resources));
    ORRERY_ASSIGN_OR_RETURN(resources,
                            DemandInGroup(std::move(resources), creation.placement_group_id, creation.bundle_index));
    resources.ToProto(info->mutable_resources());
  }
  ActorId actor_id = ActorId::FromRandom();
  TaskId creation_id = task_ids_.Next();
  internal::TaskCall call;
  call.function_name = std::move(creation.factory_name);
  call.signature_hash = creation.signature_hash;
  call.args = std::move(creation.args);
  call.name = creation.name;
  call.strategy = std::move(creation.strategy);
  call.env_vars = std::move(creation.env_vars);
  std::vector<ObjectId> put_args;
  int64_t bytes = 0;
  ORRERY_ASSIGN_OR_RETURN(std::shared_ptr<rpc::TaskSpec> task, BuildTask(call, creation_id, put_args, bytes));
  task->set_actor_id(actor_id.Binary());
  // The actor's arguments are held while it may need them: every restart runs the factory again.
  HoldArguments(*task);
  ReleaseLocalRefs(put_args);

  bool detached = creation.lifetime == 2 || (creation.lifetime == 0 && options_.detached_actors_by_default);
  info->set_actor_id(actor_id.Binary());
  info->set_job_id(options_.job_id.Binary());
  info->set_name(creation.name);
  info->set_name_space(creation.name.empty() ? ""
                       : creation.name_space.empty() ? Namespace()
                                                     : creation.name_space);
  info->set_state(rpc::ActorInfo::PENDING_CREATION);
  *info->mutable_owner() = address_;
  *info->mutable_creation() = *task;
  info->set_max_restarts(creation.max_restarts);
  info->set_max_task_retries(creation.max_task_retries);
  info->set_max_concurrency(std::max(1, creation.max_concurrency));
  info->set_detached(detached);
  // Retried through a GCS restart (the GCS knows a registration it stored by the actor's id).
  auto registered = gcs_->client().CallSync(&GcsStub::async::RegisterActor, request, rpc::RetriedCall());
  if (!registered.ok()) {
    ReleaseTaskRefs(*task);
    return registered.status();
  }

  events_->Record(*task, rpc::ACTOR_CREATION_TASK, rpc::SUBMITTED);

  internal::ActorHandleIds ids;
  ids.actor_id = actor_id.Binary();
  if (!detached && creation.name.empty()) {
    // Its handles count through this object's references: when none is left, the actor goes.
    ORRERY_ASSIGN_OR_RETURN(ObjectId handle, Put(internal::SerializedValue()));
    absl::MutexLock lock(&actors_mu_);
    actor_handles_[handle] = {actor_id, creation_id};
    ids.handle_ref = handle.Binary();
  }
  return ids;
}

void CoreWorker::OnActorHandleFreed(const ActorId& actor, const TaskId& creation) {
  rpc::KillActorRequest request;
  request.set_actor_id(actor.Binary());
  request.set_no_restart(true);
  request.set_out_of_scope(true);
  request.set_cause(rpc::ActorInfo::OUT_OF_SCOPE);
  request.set_message("every handle to it was gone");
  gcs_->KillActor(request, [](absl::StatusOr<rpc::KillActorReply> reply) {
    if (!reply.ok()) spdlog::warn("ending an actor whose handles are gone: {}", reply.status().message());
  });
  rpc::TaskSpec spec;
  spec.set_task_id(creation.Binary());
  ReleaseTaskRefs(spec);
}

absl::StatusOr<ObjectId> CoreWorker::SubmitActorTask(const ActorId& actor, internal::TaskCall call) {
  TaskId task_id = task_ids_.Next();
  ObjectId return_id = ObjectIdOf(task_id, 0);
  references_->AddOwned(return_id);
  std::vector<ObjectId> put_args;
  int64_t bytes = 0;
  auto built = BuildTask(call, task_id, put_args, bytes);
  if (!built.ok()) {
    references_->RemoveLocalRef(return_id);
    return built.status();
  }
  std::shared_ptr<rpc::TaskSpec> task = std::move(*built);
  task->set_return_id(return_id.Binary());
  auto owned_refs = HoldArguments(*task);
  ReleaseLocalRefs(put_args);
  // Before its first event, which carries it to the task's record in the GCS.
  task->set_actor_id(actor.Binary());
  events_->Record(*task, rpc::ACTOR_TASK, rpc::SUBMITTED);
  if (actor_submitter_->Enqueue(actor, task)) {
    int64_t sequence = task->sequence_number();
    AwaitOwned(task, owned_refs, [this, actor, sequence] { actor_submitter_->Ready(actor, sequence); });
  }
  return return_id;
}

absl::Status CoreWorker::KillActor(const ActorId& actor, bool no_restart) {
  rpc::KillActorRequest request;
  request.set_actor_id(actor.Binary());
  request.set_no_restart(no_restart);
  request.set_cause(rpc::ActorInfo::KILLED);
  request.set_message(no_restart ? "ActorHandle::Kill() was called" : "ActorHandle::Kill(false) was called");
  rpc::CallOptions call;
  call.retry = true;
  ORRERY_RETURN_IF_ERROR(gcs_->client().CallSync(&GcsStub::async::KillActor, request, call).status());
  // Calls made from here on fail at once, not on the process still ending.
  if (no_restart) actor_submitter_->NoteKilled(actor, request.message());
  return absl::OkStatus();
}

absl::StatusOr<std::optional<ActorId>> CoreWorker::GetNamedActor(const std::string& name,
                                                                 const std::string& name_space) {
  rpc::GetNamedActorRequest request;
  request.set_name(name);
  request.set_name_space(name_space.empty() ? Namespace() : name_space);
  rpc::CallOptions call;
  call.retry = true;
  ORRERY_ASSIGN_OR_RETURN(rpc::GetNamedActorReply reply,
                          gcs_->client().CallSync(&GcsStub::async::GetNamedActor, request, call));
  if (!reply.found() || reply.actor().state() == rpc::ActorInfo::DEAD) return std::nullopt;
  ORRERY_ASSIGN_OR_RETURN(ActorId id, ActorId::FromBinary(reply.actor().actor_id()));
  return id;
}

absl::StatusOr<std::vector<NodeId>> CoreWorker::AliveNodes() {
  rpc::CallOptions call;
  call.retry = true;
  ORRERY_ASSIGN_OR_RETURN(rpc::GetAllNodesReply reply,
                          gcs_->client().CallSync(&GcsStub::async::GetAllNodes, rpc::GetAllNodesRequest(), call));
  std::vector<NodeId> alive;
  for (const rpc::NodeInfo& node : reply.nodes()) {
    auto id = NodeId::FromBinary(node.node_id());
    if (id.ok() && node.state() == rpc::NodeInfo::ALIVE) alive.push_back(*id);
  }
  return alive;
}

std::string CoreWorker::Namespace() {
  {
    absl::MutexLock lock(&actors_mu_);
    if (!job_namespace_.empty()) return job_namespace_;
    if (!options_.job_namespace.empty()) return job_namespace_ = options_.job_namespace;
  }
  // A worker: the job's namespace is in its config at the GCS.
  rpc::GetJobRequest request;
  request.set_job_id(options_.job_id.Binary());
  rpc::CallOptions call;
  call.retry = true;
  auto reply = gcs_->client().CallSync(&GcsStub::async::GetJob, request, call);
  if (!reply.ok()) {
    spdlog::warn("reading the job's namespace from the GCS: {}", reply.status().message());
    return "";
  }
  absl::MutexLock lock(&actors_mu_);
  return job_namespace_ = reply->job().config().namespace_();
}

}  // namespace orrery::core
