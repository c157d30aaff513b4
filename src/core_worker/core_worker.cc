#include "src/core_worker/core_worker.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "orrery/version.h"
#include "src/common/log.h"
#include "src/common/net.h"
#include "src/common/status.h"
#include "src/core_worker/core_worker_service.h"
#include "src/core_worker/normal_task_stream.h"
#include "src/core_worker/object_conversion.h"
#include "src/core_worker/reference_listing_service.h"
#include "src/core_worker/worker_target.h"
#include "src/rpc/process_tls.h"

namespace orrery::core {

thread_local const rpc::TaskSpec* CoreWorker::current_task_ = nullptr;

namespace {

std::vector<ObjectId> ContainedIds(const internal::SerializedValue& value) {
  std::vector<ObjectId> ids;
  ids.reserve(value.contained_refs.size());
  for (const auto& ref : value.contained_refs) {
    if (auto id = ObjectId::FromBinary(ref.object_id); id.ok()) ids.push_back(*id);
  }
  return ids;
}

}  // namespace

absl::Status ToProto(const SchedulingStrategy& strategy, rpc::SchedulingStrategy* out) {
  switch (strategy.kind) {
    case SchedulingStrategy::Kind::kDefault:
      return absl::OkStatus();
    case SchedulingStrategy::Kind::kSpread:
      out->set_kind(rpc::SchedulingStrategy::SPREAD);
      return absl::OkStatus();
    case SchedulingStrategy::Kind::kNodeAffinity: {
      auto node = NodeId::FromHex(strategy.node_id);
      if (!node.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("node affinity names '", strategy.node_id,
                                                       "', which is not a node id (", 2 * NodeId::kSize,
                                                       " hex digits, as orrery::GetNodeId() gives)"));
      }
      out->set_kind(rpc::SchedulingStrategy::NODE_AFFINITY);
      out->set_node_id(node->Binary());
      out->set_soft(strategy.soft);
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("unknown scheduling strategy");
}

CoreWorker::CoreWorker(CoreWorkerOptions options)
    : options_(std::move(options)), loop_(EventLoop::Create(options_.is_driver ? "driver" : "worker")) {
  address_.set_worker_id(options_.worker_id.Binary());
  address_.set_node_id(options_.node_id.Binary());
  address_.set_ip(options_.node_ip);
}

CoreWorker::~CoreWorker() { Stop(); }

absl::Status CoreWorker::Start() {
  if (started_) return absl::OkStatus();
  started_ = true;
  loop_->StartThread();

  service_ = std::make_unique<CoreWorkerServiceImpl>(*this, options_.token);
  server_ = std::make_unique<rpc::GrpcServer>(
      rpc::ServerOptions{options_.is_driver ? "driver" : "worker", ListenHost(options_.node_ip, options_.bind_all), 0,
                         LocalWorkerSocket(options_.worker_id), options_.rpc, options_.token});
  server_->AddService(service_.get());
  reference_listing_ = std::make_unique<ReferenceListingService>(store_, options_.token);
  server_->AddService(reference_listing_.get());
  ORRERY_RETURN_IF_ERROR(server_->Start());
  address_.set_port(server_->port());

  rpc::ClientOptions raylet_options{"raylet at " + options_.raylet_socket, options_.token, options_.rpc,
                                    loop_->Dispatcher()};
  raylet_ = std::make_shared<raylet::GrpcRayletClient>(options_.raylet_socket, raylet_options);

  rpc::ClientOptions gcs_options{"GCS at " + options_.gcs_address, options_.token, options_.rpc, loop_->Dispatcher()};
  gcs_options.rpc.retry_budget_ms = options_.gcs_lost_timeout_ms;
  gcs_ = std::make_unique<gcs::GrpcGcsClient>(options_.gcs_address, gcs_options);
  // The same connection to the GCS: PlacementGroupService is served next to GcsService.
  placement_groups_ = std::make_unique<rpc::GrpcClient<rpc::PlacementGroupService>>(gcs_->client().channel(),
                                                                                    gcs::ForTheGcs(gcs_options));

  // Task events go to the GCS's TaskEventService, on the same connection.
  task_event_client_ = std::make_unique<rpc::GrpcClient<rpc::TaskEventService>>(
      gcs_->client().channel(),
      rpc::ClientOptions{"GCS at " + options_.gcs_address, options_.token, options_.rpc, loop_->Dispatcher()});
  events_ = std::make_unique<TaskEventBuffer>(
      options_.job_id, options_.task_events, [this](const rpc::AddTaskEventsRequest& request) {
        rpc::CallOptions call;
        call.timeout_ms = kTaskEventsSendTimeoutMs;
        return task_event_client_->CallSync(&rpc::TaskEventService::Stub::async::AddTaskEvents, request, call).status();
      });
  events_->Start();
  user_metrics_ = std::make_unique<UserMetricsReporter>(
      metrics::ProcessUserMetrics(), options_.worker_id, options_.job_id, UserMetricsReportIntervalMs(),
      [this](const rpc::ReportMetricsRequest& request) {
        rpc::CallOptions call;
        call.timeout_ms = kUserMetricsSendTimeoutMs;
        return raylet_->client().CallSync(&rpc::NodeManagerService::Stub::async::ReportMetrics, request, call).status();
      });
  user_metrics_->Start();

  ReferenceCounter::Callbacks callbacks;
  callbacks.on_free = [this](const ObjectId& id) { FreeOwned(id); };
  lineage_ = std::make_unique<LineageTable>(options_.max_lineage_bytes, options_.submitter.max_system_retries);
  callbacks.on_forget = [this](const ObjectId& id) { lineage_->Forget(id); };
  callbacks.on_release = [this](const ObjectId& id, const rpc::WorkerAddress& owner) {
    store_.Delete(id);
    if (shared_ != nullptr) shared_->Forget(id);
    SendBorrowerUpdate(id, owner, address_, /*add=*/false);
  };
  references_ = std::make_unique<ReferenceCounter>(address_, std::move(callbacks));
  reference_listing_->Serve(*references_);
  owners_ = std::make_unique<OwnerClients>(rpc::ClientOptions{"", options_.token, options_.rpc, loop_->Dispatcher()},
                                           options_.node_id);
  fetcher_ = std::make_unique<ObjectFetcher>(
      *owners_, *gcs_, loop_, address_, store_,
      [this](const ObjectId& id, rpc::SerializedObject&& object) { StoreReceived(id, std::move(object)); });

  TaskSubmitter::Options submitter_options = options_.submitter;
  submitter_options.cluster_token = options_.token;
  submitter_options.rpc = options_.rpc;
  TaskSubmitter::Callbacks submitter_callbacks;
  submitter_callbacks.on_result = [this](const rpc::TaskSpec& task, rpc::SerializedObject&& object,
                                          const ResourceSet* resources) {
    RecordEndAsOwner(task, object);
    OnTaskResult(task, std::move(object), resources);
  };
  submitter_callbacks.on_failed = [this](const rpc::TaskSpec& task, const rpc::ErrorInfo& error) {
    events_->RecordFailure(task, KindOf(task, /*is_creation=*/false), error);
    rpc::SerializedObject object;
    ToWire(*ErrorValue(error), &object);
    OnTaskResult(task, std::move(object), nullptr);
  };
  submitter_callbacks.on_dispatched = [this](const rpc::TaskSpec& task, const rpc::WorkerAddress& worker) {
    events_->Record(task, rpc::NORMAL_TASK, rpc::SCHEDULED, NodeId::FromBinary(worker.node_id()).value_or(NodeId::Nil()),
                    WorkerId::FromBinary(worker.worker_id()).value_or(WorkerId::Nil()));
  };
  submitter_callbacks.on_retried = [this](const rpc::TaskSpec& task, const rpc::ErrorInfo& error) {
    events_->RecordFailure(task, rpc::NORMAL_TASK, error);
    rpc::TaskSpec next = task;
    next.set_attempt(task.attempt() + 1);
    events_->Record(next, rpc::NORMAL_TASK, rpc::SUBMITTED);
  };
  submitter_callbacks.on_group_unplaceable = [this](const PlacementGroupId& group) { CheckGroupRemoved(group); };
  ActorSubmitter::Options actor_options = options_.actors;
  if (const char* every = std::getenv("ORRERY_TESTING_CUT_ACTOR_STREAM_EVERY"); every != nullptr) {
    actor_options.testing_cut_stream_every = std::strtoll(every, nullptr, 10);
  }
  actor_options.cluster_token = options_.token;
  actor_options.rpc = options_.rpc;
  actor_options.local_node = options_.node_id;
  actor_submitter_ =
      std::make_shared<ActorSubmitter>(actor_options, loop_, *gcs_, options_.worker_id, submitter_callbacks);
  remote_raylets_ = std::make_shared<RemoteRaylets>(
      rpc::ClientOptions{"", options_.token, options_.rpc, loop_->Dispatcher()});
  submitter_ = std::make_unique<TaskSubmitter>(submitter_options, loop_, address_, options_.job_id, raylet_,
                                               remote_raylets_, std::move(submitter_callbacks));

  if (!options_.is_driver) {
    TaskExecutor::Hooks hooks;
    hooks.resolve_args = [this](const rpc::TaskSpec& task) { return ResolveArgs(task); };
    hooks.hand_over = [this](const internal::SerializedValue& value, const rpc::WorkerAddress& receiver) {
      HandOver(value, receiver);
    };
    hooks.set_current_task = [](const rpc::TaskSpec* task) { current_task_ = task; };
    hooks.store_result = [this](const rpc::TaskSpec& task,
                                const internal::SerializedValue& value) -> absl::StatusOr<Value> {
      if (shared_ == nullptr || !shared_->Belongs(value.size())) return nullptr;
      // The task's owner owns its result: the object goes when that owner does.
      return shared_->Write(ObjectId::FromBinary(task.return_id()).value_or(ObjectId()), value,
                            WorkerId::FromOptionalBinary(task.owner().worker_id()).value_or(WorkerId()));
    };
    hooks.on_actor_exit = [this](const ActorId& actor) {
      // The GCS records why and ends this process; callers learn it from the GCS.
      rpc::KillActorRequest request;
      request.set_actor_id(actor.Binary());
      request.set_no_restart(true);
      request.set_cause(rpc::ActorInfo::EXITED);
      request.set_message("orrery::ExitActor() was called in one of its methods");
      gcs_->KillActor(request, [](absl::StatusOr<rpc::KillActorReply> reply) {
        if (!reply.ok()) spdlog::warn("telling the GCS this actor exited: {}", reply.status().message());
      });
    };
    executor_ = std::make_unique<TaskExecutor>(options_.worker_id, options_.node_id, std::move(hooks), events_.get());
  }

  // Deaths of workers: the detail a retried task's error names, and borrowers that are gone.
  subscriber_ = std::make_unique<gcs::GcsSubscriber>(*gcs_, options_.worker_id);
  subscriber_->Subscribe(rpc::WORKER_DEATH, "", [this](const rpc::PubsubMessage& message) { OnWorkerDeath(message); });
  subscriber_->Start();
  // Last: once registered, an owner may push tasks here at once.
  absl::Status registered = RegisterWithRaylet();
  // Also on failure, so that nothing waits forever (the process then ends).
  registered_.Notify();
  return registered;
}

absl::Status CoreWorker::RegisterWithRaylet() {
  rpc::RegisterWorkerRequest request;
  request.set_worker_id(options_.worker_id.Binary());
  request.set_worker_type(options_.is_driver ? rpc::DRIVER : rpc::WORKER);
  request.set_pid(getpid());
  request.set_port(address_.port());
  request.set_job_id(options_.job_id.Binary());
  request.set_version(ORRERY_VERSION_STRING);
  rpc::CallOptions call;
  call.retry = true;
  auto reply = raylet_->client().CallSync(&rpc::NodeManagerService::Stub::async::RegisterWorker, request, call);
  if (!reply.ok()) return Annotate(reply.status(), "registering with the raylet");
  if (reply->node_id() != options_.node_id.Binary()) {
    return absl::FailedPreconditionError("the raylet at " + options_.raylet_socket + " is not node " +
                                         options_.node_id.Hex());
  }
  auto store = object_store::StoreClient::Connect(reply->object_store_socket());
  if (!store.ok()) return Annotate(store.status(), "connecting to the node's object store");
  nodes_ = std::make_unique<NodeDirectory>(*gcs_, *remote_raylets_);
  ObjectPuller::Options pull;
  pull.local_node = options_.node_id;
  pull.full_wait_ms = options_.object_store_full_wait_ms;
  pull.token = options_.token;
  // The object data sockets speak TLS when the cluster does (this process's identity).
  pull.tls = rpc::TlsOr(options_.rpc.tls);
  puller_ = std::make_unique<ObjectPuller>(
      pull, *store,
      [this](const NodeId& node) -> absl::StatusOr<HostPort> {
        ORRERY_ASSIGN_OR_RETURN(NodeDirectory::Node found, nodes_->Find(node));
        return found.object_data;
      },
      [this](const ObjectId& id, const NodeId& node) { OnObjectCopied(id, node); });
  shared_ = std::make_unique<SharedMemoryObjects>(
      *store, options_.node_id, options_.max_inline_object_bytes, options_.object_store_full_wait_ms,
      [this](const ObjectId& id, const NodeId& holder, int64_t timeout_ms) {
        return PullObject(id, holder, timeout_ms);
      });
  return absl::OkStatus();
}

void CoreWorker::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  // What this process recorded goes to the GCS while the connection still works: the group
  // calls it did not wait for (a removal just before Shutdown must not be lost) and its events.
  if (placement_groups_) AwaitAllRegistrations(absl::Milliseconds(options_.rpc.default_deadline_ms));
  if (events_) events_->Stop();
  if (user_metrics_) user_metrics_->Stop();
  if (subscriber_) subscriber_->Stop();
  if (submitter_) submitter_->Stop();
  if (actor_submitter_) actor_submitter_->Stop();
  if (service_) service_->FinishPendingAnswers();
  if (server_) server_->Shutdown(1000);
  if (owners_) owners_->Stop();
  if (nodes_) nodes_->Stop();
  if (remote_raylets_) remote_raylets_->Stop();
  loop_->Stop();
}

void CoreWorker::WaitForExit() { service_->WaitForExit(); }

// ---- objects ----

absl::StatusOr<ObjectId> CoreWorker::Put(internal::SerializedValue value) {
  ObjectId id = ObjectIdOf(task_ids_.Next(), 0);
  Value stored;
  if (shared_ != nullptr && shared_->Belongs(value.size())) {
    ORRERY_ASSIGN_OR_RETURN(stored, shared_->Write(id, value, options_.worker_id));
  } else {
    if (value.view != nullptr && value.keep_alive == nullptr) {
      // Lent by the caller (see Runtime::Put): keep a copy.
      value.payload.assign(value.view, value.view_size);
      value.view = nullptr;
      value.view_size = 0;
    }
    stored = std::make_shared<const internal::SerializedValue>(std::move(value));
  }
  references_->AddOwned(id, ContainedIds(*stored));
  store_.Put(id, std::move(stored));
  return id;
}

std::vector<Value> CoreWorker::Get(const std::vector<ObjectId>& ids, int64_t timeout_ms) {
  FetchMissing(ids);
  bool in_task = current_task_ != nullptr;
  std::vector<Value> values = store_.Wait(ids, ids.size(), timeout_ms, in_task ? BlockHook(true) : nullptr,
                                          in_task ? BlockHook(false) : nullptr);
  ReadShared(ids, values, timeout_ms);
  return values;
}

void CoreWorker::ReadShared(const std::vector<ObjectId>& ids, std::vector<Value>& values, int64_t timeout_ms) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] == nullptr || values[i]->format != internal::Format::kInStore) continue;
    if (shared_ == nullptr) {
      rpc::ErrorInfo error;
      error.set_type(rpc::ErrorInfo::OBJECT_LOST);
      error.set_message(absl::StrCat("object ", ids[i].Hex(), " is in an object store this process cannot reach"));
      values[i] = ErrorValue(error);
      continue;
    }
    values[i] = ReadOrRecover(ids[i], values[i], timeout_ms);
  }
}

void CoreWorker::FreeOwned(const ObjectId& id) {
  std::optional<std::pair<ActorId, TaskId>> actor;
  {
    absl::MutexLock lock(&actors_mu_);
    if (auto it = actor_handles_.find(id); it != actor_handles_.end()) {
      actor = it->second;
      actor_handles_.erase(it);
    }
  }
  if (actor.has_value()) OnActorHandleFreed(actor->first, actor->second);
  Value value = store_.GetIfReady(id);
  if (value != nullptr && value->format == internal::Format::kInStore) FreeEveryCopy(id, *value);
  store_.Delete(id);
}

std::vector<bool> CoreWorker::Wait(const std::vector<ObjectId>& ids, int num_objects, int64_t timeout_ms) {
  FetchMissing(ids);
  bool in_task = current_task_ != nullptr;
  std::vector<Value> values = store_.Wait(ids, static_cast<size_t>(num_objects), timeout_ms,
                                          in_task ? BlockHook(true) : nullptr, in_task ? BlockHook(false) : nullptr);
  return FirstReady(values, num_objects);
}

void CoreWorker::FetchMissing(const std::vector<ObjectId>& ids) {
  for (const ObjectId& id : ids) {
    if (store_.Contains(id) || references_->IsOwned(id)) continue;
    std::optional<rpc::WorkerAddress> owner = references_->OwnerOf(id);
    // (An ObjectRef made from an id alone, for an object no ref to which reached this process,
    // has an entry but no owner.)
    if (!owner.has_value() || owner->worker_id().empty()) {
      store_.Put(id, ErrorValue(UnknownObjectError(id)));
      continue;
    }
    fetcher_->Fetch(id, *owner);
  }
}

std::function<void()> CoreWorker::BlockHook(bool blocked) {
  return [this, blocked] { NotifyBlocked(blocked); };
}

void CoreWorker::NotifyBlocked(bool blocked) {
  // What waits behind this task on its owner's stream goes back first: it may be what this task
  // waits for.
  NormalTaskStream::RunningTaskBlocked(blocked);
  rpc::NotifyWorkerBlockedRequest request;
  request.set_worker_id(options_.worker_id.Binary());
  request.set_blocked(blocked);
  // In order, so the raylet never sees "unblocked" before "blocked".
  // Retried (a second notice changes nothing): a lost "blocked" would keep the task's CPU from
  // the nested tasks it waits for.
  rpc::CallOptions call;
  call.retry = true;
  auto reply =
      raylet_->client().CallSync(&rpc::NodeManagerService::Stub::async::NotifyWorkerBlocked, request, call);
  if (!reply.ok()) spdlog::warn("telling the raylet this worker is blocked: {}", reply.status().message());
}

void CoreWorker::StoreReceived(const ObjectId& id, rpc::SerializedObject&& object) {
  Value value = FromWire(std::move(object));
  if (!value->contained_refs.empty()) {
    // The sender registered this process as a borrower of each: hold them with the value.
    std::vector<ObjectId> contained;
    for (const auto& ref : value->contained_refs) {
      auto inner = ObjectId::FromBinary(ref.object_id);
      rpc::WorkerAddress owner;
      if (!inner.ok() || !ParseOwner(ref.owner, &owner)) continue;
      references_->AddContainedBorrowed(*inner, owner);
      contained.push_back(*inner);
    }
    references_->SetContained(id, contained);
  }
  store_.Put(id, std::move(value));
}

void CoreWorker::CountBorrower(const internal::SerializedValue& value, const rpc::WorkerAddress& receiver,
                               const std::function<void(const ObjectId&, const rpc::WorkerAddress&)>& tell_owner) {
  for (const auto& ref : value.contained_refs) {
    auto id = ObjectId::FromBinary(ref.object_id);
    rpc::WorkerAddress owner;
    if (!id.ok() || !ParseOwner(ref.owner, &owner)) continue;
    if (owner.worker_id() == options_.worker_id.Binary()) {
      references_->AddBorrower(*id, receiver);
    } else {
      tell_owner(*id, owner);
    }
  }
}

void CoreWorker::HandOver(const internal::SerializedValue& value, const rpc::WorkerAddress& receiver) {
  CountBorrower(value, receiver, [this, &receiver](const ObjectId& id, const rpc::WorkerAddress& owner) {
    SendBorrowerUpdate(id, owner, receiver, /*add=*/true);
  });
}

void CoreWorker::HandOverThen(const internal::SerializedValue& value, const rpc::WorkerAddress& receiver,
                              std::function<void()> then) {
  // One share per owner told and one for this loop: whoever gives back the last runs `then`.
  auto shares = std::make_shared<std::atomic<int>>(1);
  auto give_back = [shares, then = std::make_shared<std::function<void()>>(std::move(then))] {
    if (shares->fetch_sub(1) == 1) (*then)();
  };
  CountBorrower(value, receiver, [&](const ObjectId& id, const rpc::WorkerAddress& owner) {
    shares->fetch_add(1);
    SendBorrowerUpdate(id, owner, receiver, /*add=*/true, give_back);
  });
  give_back();
}

void CoreWorker::SendBorrowerUpdate(const ObjectId& id, const rpc::WorkerAddress& owner,
                                    const rpc::WorkerAddress& borrower, bool add, std::function<void()> registered) {
  if (stopped_ || owners_ == nullptr) {
    if (registered) registered();
    return;
  }
  rpc::UpdateBorrowersRequest request;
  rpc::BorrowerUpdate* update = request.add_updates();
  update->set_object_id(id.Binary());
  *update->mutable_borrower() = borrower;
  update->set_add(add);
  auto client = owners_->Get(owner);
  if (!add) {
    client->Call(&rpc::CoreWorkerService::Stub::async::UpdateBorrowers, request, rpc::CallOptions{},
                 [](absl::StatusOr<rpc::UpdateBorrowersReply>) {});
    return;
  }
  // Before the value goes out: the receiver must be counted before this process lets go.
  rpc::CallOptions call;
  call.retry = true;
  auto warn = [id](const absl::Status& status) {
    if (!status.ok()) spdlog::warn("registering a borrower of {}: {}", id.Hex(), status.message());
  };
  if (registered) {
    client->Call(&rpc::CoreWorkerService::Stub::async::UpdateBorrowers, request, call,
                 [warn, registered = std::move(registered)](absl::StatusOr<rpc::UpdateBorrowersReply> reply) {
                   warn(reply.status());
                   registered();
                 });
    return;
  }
  warn(client->CallSync(&rpc::CoreWorkerService::Stub::async::UpdateBorrowers, request, call).status());
}

void CoreWorker::Borrow(const ObjectId& id, const rpc::WorkerAddress& owner) {
  if (references_->NoteBorrowed(id, owner)) SendBorrowerUpdate(id, owner, address_, /*add=*/true);
}

rpc::WorkerAddress CoreWorker::OwnerOf(const ObjectId& id) const {
  return references_->OwnerOf(id).value_or(address_);
}

// ---- tasks: the owner's side ----

absl::StatusOr<std::shared_ptr<rpc::TaskSpec>> CoreWorker::BuildTask(internal::TaskCall& call, const TaskId& task_id,
                                                                      std::vector<ObjectId>& put_args,
                                                                      int64_t& inline_bytes) {
  auto task = std::make_shared<rpc::TaskSpec>();
  ORRERY_RETURN_IF_ERROR(ToProto(call.strategy, task->mutable_strategy()));
  task->set_task_id(task_id.Binary());
  task->set_job_id(options_.job_id.Binary());
  task->set_function_name(std::move(call.function_name));
  task->set_signature_hash(call.signature_hash);
  *task->mutable_owner() = address_;
  task->set_name(std::move(call.name));
  // Checked by SetRuntimeEnv already (and again by the raylet).
  task->mutable_env_vars()->insert(call.env_vars.begin(), call.env_vars.end());
  if (call.max_retries.has_value()) task->set_max_retries(*call.max_retries);
  task->set_retry_exceptions(call.retry_exceptions);
  for (std::string& type : call.retry_exception_types) task->add_retry_exception_types(std::move(type));
  // Large values go to the object store and the task takes them by reference, like any other.
  for (internal::TaskArgument& arg : call.args) {
    rpc::TaskArg* out = task->add_args();
    if (!arg.is_ref && shared_ != nullptr && shared_->Belongs(arg.value.size())) {
      absl::StatusOr<ObjectId> put = Put(std::move(arg.value));
      if (!put.ok()) {
        ReleaseLocalRefs(put_args);
        put_args.clear();
        return put.status();
      }
      put_args.push_back(*put);
      out->mutable_ref()->set_object_id(put->Binary());
    } else if (arg.is_ref) {
      out->mutable_ref()->set_object_id(arg.object_id);
    } else {
      inline_bytes += static_cast<int64_t>(arg.value.payload.size());
      ToWire(arg.value, out->mutable_value());
    }
  }
  return task;
}

void CoreWorker::ReleaseLocalRefs(const std::vector<ObjectId>& ids) {
  for (const ObjectId& id : ids) references_->RemoveLocalRef(id);
}

absl::StatusOr<ObjectId> CoreWorker::Submit(internal::TaskCall call) {
  absl::StatusOr<ResourceSet> resources = ResourceSet::FromDoubles(
      call.resources.empty() ? std::unordered_map<std::string, double>{{"CPU", 1}} : call.resources);
  if (resources.ok()) resources = DemandInGroup(std::move(*resources), call.placement_group_id, call.bundle_index);
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
  if (!resources.ok()) {
    rpc::ErrorInfo error;
    error.set_type(rpc::ErrorInfo::TASK_ERROR);
    error.set_function(task->function_name());
    error.set_message(std::string(resources.status().message()));
    store_.Put(return_id, ErrorValue(error));
    ReleaseLocalRefs(put_args);
    return return_id;
  }

  events_->Record(*task, rpc::NORMAL_TASK, rpc::SUBMITTED);
  submitter_->Admit(bytes);
  ResourceSet shape = *resources;
  ResolveDependencies(task, [this, task, shape, bytes] { PushNearArguments(task, shape, bytes); });
  // The task holds them now.
  ReleaseLocalRefs(put_args);
  return return_id;
}

void CoreWorker::ResolveDependencies(std::shared_ptr<rpc::TaskSpec> task, std::function<void()> ready) {
  auto owned_refs = HoldArguments(*task);
  AwaitOwned(std::move(task), owned_refs, std::move(ready));
}

std::vector<std::pair<int, ObjectId>> CoreWorker::HoldArguments(rpc::TaskSpec& task) {
  // The task holds its argument refs, and the refs inside inline values, until it ends.
  std::vector<ObjectId> held;
  std::vector<std::pair<int, ObjectId>> owned_refs;
  for (int i = 0; i < task.args_size(); ++i) {
    rpc::TaskArg* arg = task.mutable_args(i);
    if (arg->has_ref()) {
      ObjectId id = ObjectId::FromBinary(arg->ref().object_id()).value();
      held.push_back(id);
      *arg->mutable_ref()->mutable_owner() = OwnerOf(id);
      if (references_->IsOwned(id)) owned_refs.emplace_back(i, id);
    } else {
      for (const auto& ref : arg->value().contained_refs()) {
        if (auto id = ObjectId::FromBinary(ref.object_id()); id.ok()) held.push_back(*id);
      }
    }
  }
  references_->AddSubmittedRefs(held);
  absl::MutexLock lock(&task_refs_mu_);
  task_refs_[TaskId::FromBinary(task.task_id()).value()] = std::move(held);
  return owned_refs;
}

void CoreWorker::AwaitOwned(std::shared_ptr<rpc::TaskSpec> task,
                            const std::vector<std::pair<int, ObjectId>>& owned_refs, std::function<void()> ready) {
  if (owned_refs.empty()) return ready();
  // Owned arguments: wait until each exists, then pass small plain values inline (the worker
  // need not call back) and the rest by reference.
  auto remaining = std::make_shared<std::atomic<int>>(static_cast<int>(owned_refs.size()));
  auto shared_ready = std::make_shared<std::function<void()>>(std::move(ready));
  for (const auto& [index, id] : owned_refs) {
    int i = index;
    store_.OnReady(id, [task, i, remaining, shared_ready](const Value& value) {
      if (value->contained_refs.empty() && value->format != internal::Format::kError &&
          value->format != internal::Format::kInStore) {
        ToWire(*value, task->mutable_args(i)->mutable_value());
      }
      if (remaining->fetch_sub(1) == 1) (*shared_ready)();
    });
  }
}

void CoreWorker::RecordEndAsOwner(const rpc::TaskSpec& task, const rpc::SerializedObject& result) {
  // The worker records the same end, but a worker ended with its job (right after its last
  // task) may not send it; the owner's reaches the GCS when the owner stops at the latest.
  rpc::TaskKind kind = KindOf(task, /*is_creation=*/false);
  rpc::ErrorInfo error;
  if (result.format() == rpc::SerializedObject::ERROR && error.ParseFromString(result.payload())) {
    events_->RecordFailure(task, kind, error);
  } else {
    events_->Record(task, kind, rpc::FINISHED);
  }
}

void CoreWorker::FlushReports() {
  if (events_) events_->Flush();
  if (user_metrics_) user_metrics_->Flush();
}

void CoreWorker::OnTaskResult(const rpc::TaskSpec& task, rpc::SerializedObject&& object,
                              const ResourceSet* resources) {
  auto return_id = ObjectId::FromBinary(task.return_id());
  bool in_store = object.format() == rpc::SerializedObject::IN_STORE;
  if (return_id.ok() && !references_->IsHeld(*return_id)) {
    // Every ref to the result is gone already: it is freed as it arrives, on whichever node.
    if (task.attempt() > 0) lineage_->EndRebuild(*return_id);
    if (in_store) FreeEveryCopy(*return_id, *FromWire(std::move(object)));
  } else if (return_id.ok()) {
    bool actor_call = !task.actor_id().empty();
    if (in_store && (resources != nullptr || actor_call)) {
      RecordLineage(*return_id, task, actor_call ? ResourceSet() : *resources);
    } else if (task.attempt() > 0) {
      // A re-run (always a later attempt) that failed for good stores its error.
      lineage_->EndRebuild(*return_id);
    }
    StoreReceived(*return_id, std::move(object));
  }
  ReleaseTaskRefs(task);
}

void CoreWorker::ReleaseTaskRefs(const rpc::TaskSpec& task) {
  std::vector<ObjectId> held;
  {
    absl::MutexLock lock(&task_refs_mu_);
    auto it = task_refs_.find(TaskId::FromBinary(task.task_id()).value());
    if (it == task_refs_.end()) return;
    held = std::move(it->second);
    task_refs_.erase(it);
  }
  references_->RemoveSubmittedRefs(held);
}

// ---- tasks: the executor's side ----

std::vector<Value> CoreWorker::ResolveArgs(const rpc::TaskSpec& task) {
  std::vector<Value> values(task.args_size());
  std::vector<ObjectId> fetched;
  std::vector<size_t> fetched_index;
  for (int i = 0; i < task.args_size(); ++i) {
    const rpc::TaskArg& arg = task.args(i);
    if (arg.has_ref()) {
      auto id = ObjectId::FromBinary(arg.ref().object_id());
      if (!id.ok()) {
        rpc::ErrorInfo error;
        error.set_type(rpc::ErrorInfo::TASK_ERROR);
        error.set_function(task.function_name());
        error.set_message(absl::StrCat("arguments error: argument ", i + 1, " of ", task.function_name(),
                                       " names no valid object: ", id.status().message()));
        values[i] = ErrorValue(error);
        continue;
      }
      // Held while the task runs; the owner holds it too until the task ends.
      references_->NoteBorrowed(*id, arg.ref().owner());
      references_->AddLocalRef(*id);
      fetched.push_back(*id);
      fetched_index.push_back(i);
    } else {
      rpc::SerializedObject copy = arg.value();
      values[i] = FromWire(std::move(copy));
    }
  }
  if (!fetched.empty()) {
    // Counts as in the task already: a wait for an argument its owner must make again (in
    // ReadShared) lends this worker's CPU, as a Get in the task does. Holding it would deadlock
    // a cluster whose CPUs all wait for arguments that only a re-run on one of them can make.
    const rpc::TaskSpec* outer = current_task_;
    current_task_ = &task;
    FetchMissing(fetched);
    std::vector<Value> found = store_.Wait(fetched, fetched.size(), -1, BlockHook(true), BlockHook(false));
    ReadShared(fetched, found, -1);
    current_task_ = outer;
    for (size_t j = 0; j < fetched.size(); ++j) {
      values[fetched_index[j]] = found[j];
      references_->RemoveLocalRef(fetched[j]);
    }
  }
  return values;
}

void CoreWorker::OnWorkerDeath(const rpc::PubsubMessage& message) {
  if (!message.has_worker_death()) return;
  const rpc::WorkerDeath& death = message.worker_death();
  auto worker = WorkerId::FromBinary(death.worker_id());
  if (!worker.ok()) return;
  submitter_->NoteWorkerDeath(*worker, death.exit_type(), death.detail());
  references_->OnWorkerDied(*worker);
}

}  // namespace orrery::core
