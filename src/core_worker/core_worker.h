// CoreWorker: the runtime inside every driver and worker process. It owns the objects its tasks
// return and its Puts (memory store + reference counts), submits tasks (TaskSubmitter), fetches
// what others own (ObjectFetcher), serves its own objects and the borrower protocol, and in a
// worker runs the tasks pushed to it (TaskExecutor).
// Threads: user threads call Put/Get/Wait/Submit and the ref counts directly (mutex-guarded
// parts); timers, lease answers and GCS events run on its loop; gRPC serves the rest.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "orrery/internal/runtime.h"
#include "src/common/event_loop.h"
#include "src/core_worker/actor_submitter.h"
#include "src/core_worker/id_generator.h"
#include "src/core_worker/lineage_table.h"
#include "src/core_worker/memory_store.h"
#include "src/core_worker/node_directory.h"
#include "src/core_worker/object_copies.h"
#include "src/core_worker/object_fetcher.h"
#include "src/core_worker/object_puller.h"
#include "src/core_worker/owner_clients.h"
#include "src/core_worker/reference_counter.h"
#include "src/core_worker/shared_memory_objects.h"
#include "src/core_worker/task_event_buffer.h"
#include "src/core_worker/user_metrics_reporter.h"
#include "src/core_worker/task_executor.h"
#include "src/core_worker/task_submitter.h"
#include "orrery/placement_group.grpc.pb.h"
#include "orrery/task_events.grpc.pb.h"
#include "src/common/placement_group.h"
#include "src/gcs/client/gcs_client.h"
#include "src/gcs/client/gcs_subscriber.h"
#include "src/raylet/client/raylet_client.h"
#include "src/rpc/grpc_server.h"

namespace orrery::core {

class CoreWorkerServiceImpl;
class ReferenceListingService;

// What a task or actor asking for `demand` asks for when placed in bundle `bundle_index` of
// the group with hex id `group` (see src/common/placement_group.h); `demand` itself when
// `group` is empty. InvalidArgument for a malformed id.
absl::StatusOr<ResourceSet> DemandInGroup(ResourceSet demand, const std::string& group, int bundle_index);

// The wire form of a public SchedulingStrategy; InvalidArgument for a malformed node id.
absl::Status ToProto(const SchedulingStrategy& strategy, rpc::SchedulingStrategy* out);

struct CoreWorkerOptions {
  bool is_driver = true;
  JobId job_id;
  WorkerId worker_id = WorkerId::FromRandom();
  NodeId node_id;
  std::string node_ip = "127.0.0.1";
  // Listen on every interface rather than node_ip: the node's raylet was started with --bind-all.
  bool bind_all = false;
  std::string raylet_socket;  // unix:/path
  std::string gcs_address;
  std::string token;
  TaskSubmitter::Options submitter;
  // Values of at least this many bytes go to the node's shared-memory object store; smaller
  // ones travel inline.
  int64_t max_inline_object_bytes = 100 << 10;
  // How long a Put (or a large result) waits for room in a full object store before failing.
  int64_t object_store_full_wait_ms = 10'000;
  // The bound on the lineage this process keeps (LineageTable).
  int64_t max_lineage_bytes = 1LL << 30;
  // The job's namespace (a driver knows it; a worker asks the GCS when first needed).
  std::string job_namespace;
  // Actors created without a lifetime of their own are detached (the job's default).
  bool detached_actors_by_default = false;
  ActorSubmitter::Options actors;
  TaskEventBuffer::Options task_events;
  rpc::RpcOptions rpc;
  // How long calls to the GCS keep retrying while it is unreachable: the node's
  // --gcs-lost-timeout-ms (NodeInfo.gcs_lost_timeout_ms), one budget for the whole node.
  int64_t gcs_lost_timeout_ms = gcs::kDefaultGcsLostTimeoutMs;
};

class CoreWorker {
 public:
  explicit CoreWorker(CoreWorkerOptions options);
  ~CoreWorker();

  // Serves CoreWorkerService and registers with the raylet (as a driver or a worker).
  absl::Status Start();
  // Stops submitting (pending tasks fail), returns leases, stops serving. Idempotent.
  void Stop();
  // Blocks until Exit is called on this worker's service.
  void WaitForExit();
  // Sends the task events buffered now to the GCS, and the process's own metrics to its raylet
  // (a worker being ended: what it ran and recorded is not lost).
  void FlushReports();

  // ---- what the public API needs (see orrery/internal/runtime.h) ----
  void AddLocalRef(const ObjectId& id) { references_->AddLocalRef(id); }
  void RemoveLocalRef(const ObjectId& id) { references_->RemoveLocalRef(id); }
  // Errors: the object store's (full, or the value larger than the whole store).
  absl::StatusOr<ObjectId> Put(internal::SerializedValue value);
  // Values in order; null where `timeout_ms` ran out first.
  std::vector<Value> Get(const std::vector<ObjectId>& ids, int64_t timeout_ms);
  std::vector<bool> Wait(const std::vector<ObjectId>& ids, int num_objects, int64_t timeout_ms);
  // Errors: a large argument the object store could not take.
  absl::StatusOr<ObjectId> Submit(internal::TaskCall call);
  // Errors: a name taken in its namespace (ALREADY_EXISTS), resources that are not valid.
  absl::StatusOr<internal::ActorHandleIds> CreateActor(internal::ActorCreation creation);
  absl::StatusOr<ObjectId> SubmitActorTask(const ActorId& actor, internal::TaskCall call);
  absl::Status KillActor(const ActorId& actor, bool no_restart);
  // The live actor with this name, if any (the namespace empty: the job's).
  absl::StatusOr<std::optional<ActorId>> GetNamedActor(const std::string& name, const std::string& name_space);
  std::string Namespace();
  // The nodes the GCS holds alive.
  absl::StatusOr<std::vector<NodeId>> AliveNodes();

  // ---- placement groups (core_worker_placement_groups.cc) ----
  // Registers `group` (its id chosen by the caller) for this job; placed in the background.
  // Errors: a name taken in the namespace (ALREADY_EXISTS), a bad bundle (INVALID_ARGUMENT).
  // An unnamed group (which no other can clash with) is registered asynchronously: the calls
  // below on it wait for that first, and report its error.
  absl::Status CreatePlacementGroup(rpc::PlacementGroupInfo group);
  absl::Status RemovePlacementGroup(const PlacementGroupId& id);
  // Whether the group is CREATED within `timeout_ms`. Errors: unknown (NOT_FOUND), removed
  // (FAILED_PRECONDITION).
  absl::StatusOr<bool> WaitPlacementGroupReady(const PlacementGroupId& id, int64_t timeout_ms);
  absl::StatusOr<std::optional<rpc::PlacementGroupInfo>> GetPlacementGroup(const PlacementGroupId& id);
  // The live group with this name in the job's namespace.
  absl::StatusOr<std::optional<rpc::PlacementGroupInfo>> GetNamedPlacementGroup(const std::string& name);
  absl::StatusOr<std::vector<rpc::PlacementGroupInfo>> GetAllPlacementGroups();

  int CurrentActorRestarts() const { return executor_ == nullptr ? -1 : executor_->actor_restarts(); }
  rpc::WorkerAddress OwnerOf(const ObjectId& id) const;
  void Borrow(const ObjectId& id, const rpc::WorkerAddress& owner);

  const rpc::WorkerAddress& address() const { return address_; }
  const CoreWorkerOptions& options() const { return options_; }
  int num_leased_workers() const { return submitter_->num_leased_workers(); }

 private:
  friend class CoreWorkerServiceImpl;

  absl::Status RegisterWithRaylet();
  // Replaces the markers among `values` (objects in the shared-memory store) by their values.
  void ReadShared(const std::vector<ObjectId>& ids, std::vector<Value>& values, int64_t timeout_ms);
  // Frees what an owner holds of an object: its value here, and its copy in the store.
  void FreeOwned(const ObjectId& id);

  // ---- objects between nodes (core_worker_objects.cc) ----
  // Copies an object another node holds into this node's store, from any node with a copy.
  absl::Status PullObject(const ObjectId& id, const NodeId& holder, int64_t timeout_ms);
  // Where the copies of an object are: asked of its owner (or known here, when that is this
  // process), with `holder` (where its marker says it lies) always among them.
  std::vector<NodeId> CopiesOf(const ObjectId& id, const NodeId& holder);
  // For an object this process owns: the node its marker names and the nodes with copies.
  std::vector<NodeId> OwnedCopiesOf(const ObjectId& id);
  // A copy was sealed on `node`: its owner must know, to free it with the object.
  void OnObjectCopied(const ObjectId& id, const NodeId& node);
  // Hands a task whose arguments are ready to the submitter, asking for its lease first at the
  // node holding most of its large arguments (unless it names a scheduling strategy).
  void PushNearArguments(std::shared_ptr<rpc::TaskSpec> task, const ResourceSet& shape, int64_t bytes);
  // The node other than this one holding most of the task's arguments that are in a shared
  // store, if any.
  std::optional<NodeId> NodeHoldingArguments(const rpc::TaskSpec& task);
  // The owner frees an object in a shared store: every node's copy goes.
  void FreeEveryCopy(const ObjectId& id, const internal::SerializedValue& marker);
  // Starts fetching the borrowed ones of `ids` that are not here yet.
  void FetchMissing(const std::vector<ObjectId>& ids);
  // Tells the raylet this worker is blocked (a Get inside a task lends the task's CPU).
  void NotifyBlocked(bool blocked);
  std::function<void()> BlockHook(bool blocked);
  // Stores a value that arrived (a task's result, a fetched copy) and holds the refs inside it.
  void StoreReceived(const ObjectId& id, rpc::SerializedObject&& object);
  // Registers `receiver` as a borrower of the refs in `value` before it is sent there. Blocks
  // until their owners have counted it: for a task's thread only.
  void HandOver(const internal::SerializedValue& value, const rpc::WorkerAddress& receiver);
  // The same without blocking: `then` runs once every owner has counted `receiver` (or could not
  // be told), on whichever thread that happens; at once when this process owns them all.
  void HandOverThen(const internal::SerializedValue& value, const rpc::WorkerAddress& receiver,
                    std::function<void()> then);
  // The owner's side of a task's arguments: the ids the task holds until it ends, and owned
  // values inlined. Runs `ready` once every owned argument exists (at once when they all do).
  void ResolveDependencies(std::shared_ptr<rpc::TaskSpec> task, std::function<void()> ready);
  // ResolveDependencies in two steps: HoldArguments takes the refs (and names their owners)
  // and returns the owned ones; AwaitOwned runs `ready` once they all exist.
  std::vector<std::pair<int, ObjectId>> HoldArguments(rpc::TaskSpec& task);
  void AwaitOwned(std::shared_ptr<rpc::TaskSpec> task, const std::vector<std::pair<int, ObjectId>>& owned_refs,
                  std::function<void()> ready);
  // A task spec for `call`, its large values put in the store (their ids in `put_args`, held
  // for the caller to release once the task holds them) and the inline bytes counted.
  absl::StatusOr<std::shared_ptr<rpc::TaskSpec>> BuildTask(internal::TaskCall& call, const TaskId& task_id,
                                                            std::vector<ObjectId>& put_args, int64_t& inline_bytes);
  void ReleaseLocalRefs(const std::vector<ObjectId>& ids);
  // The last handle to an unnamed, non-detached actor went away: the actor goes too.
  void OnActorHandleFreed(const ActorId& actor, const TaskId& creation);
  // The executor's side: every argument's value, fetching those passed by reference.
  std::vector<Value> ResolveArgs(const rpc::TaskSpec& task);
  // Counts `receiver` as a borrower of the refs in `value` this process owns; `tell_owner` for
  // each of the others.
  void CountBorrower(const internal::SerializedValue& value, const rpc::WorkerAddress& receiver,
                     const std::function<void(const ObjectId&, const rpc::WorkerAddress&)>& tell_owner);
  // Tells `owner` that `borrower` holds `id` (or no longer does). An addition blocks until the
  // owner answers, or with `registered` runs it then instead.
  void SendBorrowerUpdate(const ObjectId& id, const rpc::WorkerAddress& owner, const rpc::WorkerAddress& borrower,
                          bool add, std::function<void()> registered = nullptr);
  // The end of a task this process owns, as its result arrived: FINISHED, or FAILED with the
  // error the result holds.
  void RecordEndAsOwner(const rpc::TaskSpec& task, const rpc::SerializedObject& result);
  // `resources`: the shape a normal task ran with (null for an actor call).
  void OnTaskResult(const rpc::TaskSpec& task, rpc::SerializedObject&& object, const ResourceSet* resources);
  void ReleaseTaskRefs(const rpc::TaskSpec& task);

  // ---- lineage reconstruction (core_worker_recovery.cc) ----
  // A normal task or an actor call made `result` in the object store: its lineage is kept to
  // make it again (`resources`: the task's shape; empty for an actor call).
  void RecordLineage(const ObjectId& result, const rpc::TaskSpec& task, const ResourceSet& resources);
  // The objects this process owns that `task` takes: its arguments passed by reference and the
  // refs inside its inline arguments.
  std::vector<ObjectId> OwnedObjectsIn(const rpc::TaskSpec& task);
  // Reads the object behind `marker`; when no copy can be read, the owner is asked to make it
  // again (lineage reconstruction) and the new value is read, within `timeout_ms` (< 0: none).
  Value ReadOrRecover(const ObjectId& id, Value marker, int64_t timeout_ms);
  // The value of `id` after a reader could not read any copy of it, the one its marker named
  // being on `holder`: from this process's store once the owner (this process, or another
  // asked with GetObject) has checked whether the copy was lost and made it again if so.
  // Null when `timeout_ms` ran out.
  Value AskOwnerAfterLostCopy(const ObjectId& id, const NodeId& holder, int64_t timeout_ms);
  // Owner: a reader could not read `id` from `holder`. When the GCS says that node is dead
  // and this process's value of `id` still names it, the object is made again (or its value
  // becomes the error saying why it cannot be). `then` runs once that is decided.
  void CheckLostCopy(const ObjectId& id, const NodeId& holder, std::function<void()> then);
  // Owner: every copy of `id` is lost (`why`): re-run the task that made it, or store the error.
  void Rebuild(const ObjectId& id, const std::string& why);
  // Re-runs a task of the lineage (an actor call is sent to its actor again, as a new call):
  // its arguments that were freed are made again first.
  void Rerun(rpc::TaskSpec task, const ResourceSet& resources);
  void OnWorkerDeath(const rpc::PubsubMessage& message);

  CoreWorkerOptions options_;
  rpc::WorkerAddress address_;
  std::shared_ptr<EventLoop> loop_;
  TaskIdGenerator task_ids_;
  MemoryStore store_;
  // The tasks that made the owned objects in the object store, to make them again. Before
  // references_, whose callbacks use it.
  std::unique_ptr<LineageTable> lineage_;
  std::unique_ptr<ReferenceCounter> references_;
  std::unique_ptr<gcs::GrpcGcsClient> gcs_;
  std::unique_ptr<rpc::GrpcClient<rpc::PlacementGroupService>> placement_groups_;
  std::unique_ptr<rpc::GrpcClient<rpc::TaskEventService>> task_event_client_;
  // Before executor_, which records into it.
  std::unique_ptr<TaskEventBuffer> events_;
  std::unique_ptr<UserMetricsReporter> user_metrics_;
  static constexpr int64_t kTaskEventsSendTimeoutMs = 5000;
  static constexpr int64_t kUserMetricsSendTimeoutMs = 2000;
  // A call on a group that the caller did not wait for (an unnamed group's registration, or the
  // removal of a group this process created), in flight or failed and not yet reported.
  struct GroupRegistration {
    absl::Notification done;
    absl::Status status;
    bool removal = false;  // frees room a group created next must see
  };
  // Sends the call on `id` without waiting; the next call on the group waits for it and
  // reports its failure.
  template <typename Request, typename Reply>
  void CallOnGroupInBackground(const PlacementGroupId& id,
                               rpc::GrpcClient<rpc::PlacementGroupService>::AsyncMethod<Request, Reply> method,
                               const Request& request, bool removal = false);
  // Waits until the call in flight on `id` (if this process made one) is over; its result.
  absl::Status AwaitRegistration(const PlacementGroupId& id);
  // Waits for every call in flight on any group (or only the removals), at most `limit`
  // (failures stay to be reported).
  void AwaitAllRegistrations(absl::Duration limit = absl::InfiniteDuration(), bool removals_only = false);
  absl::Mutex registrations_mu_;
  absl::flat_hash_map<PlacementGroupId, std::shared_ptr<GroupRegistration>> registrations_
      ABSL_GUARDED_BY(registrations_mu_);
  // Groups this process created and has not removed: the GCS knows them, so their removal
  // cannot be refused and need not be waited for.
  absl::flat_hash_set<PlacementGroupId> created_groups_ ABSL_GUARDED_BY(registrations_mu_);
  // Tasks of `id` wait where no node holds its resources: asks the GCS whether the group was
  // removed (by any process), and if so fails them. At most once a second per group.
  void CheckGroupRemoved(const PlacementGroupId& id);
  static constexpr int64_t kGroupCheckPeriodMs = 1000;
  // When each group was last checked, for the groups checked within the last period.
  absl::flat_hash_map<PlacementGroupId, int64_t> group_checked_ms_ ABSL_GUARDED_BY(registrations_mu_);
  std::unique_ptr<gcs::GcsSubscriber> subscriber_;
  std::shared_ptr<raylet::GrpcRayletClient> raylet_;
  std::unique_ptr<OwnerClients> owners_;
  std::unique_ptr<ObjectFetcher> fetcher_;
  std::unique_ptr<TaskSubmitter> submitter_;
  std::shared_ptr<ActorSubmitter> actor_submitter_;
  std::unique_ptr<TaskExecutor> executor_;
  // Set once registered with the raylet (which names the store's socket).
  std::unique_ptr<SharedMemoryObjects> shared_;
  // Notified once registration with the raylet is over (and shared_ set). The server is up
  // before that, and the raylet may grant this worker as soon as it registers, so tasks can
  // arrive first: they wait for it (their arguments may be in the store).
  absl::Notification registered_;
  // The raylets of other nodes, shared by submitter_ and nodes_ (declared after it: gone first).
  std::shared_ptr<RemoteRaylets> remote_raylets_;
  std::unique_ptr<NodeDirectory> nodes_;
  std::unique_ptr<ObjectPuller> puller_;
  ObjectCopies copies_;
  std::unique_ptr<CoreWorkerServiceImpl> service_;
  std::unique_ptr<ReferenceListingService> reference_listing_;
  std::unique_ptr<rpc::GrpcServer> server_;
  // The refs each submitted task holds until it ends (its arguments and what they contain).
  absl::Mutex task_refs_mu_;
  absl::flat_hash_map<TaskId, std::vector<ObjectId>> task_refs_ ABSL_GUARDED_BY(task_refs_mu_);
  // Handle objects of the actors this process created -> the actor and its creation task.
  absl::Mutex actors_mu_;
  absl::flat_hash_map<ObjectId, std::pair<ActorId, TaskId>> actor_handles_ ABSL_GUARDED_BY(actors_mu_);
  std::string job_namespace_ ABSL_GUARDED_BY(actors_mu_);
  // The task this thread is running (null on drivers and between tasks).
  static thread_local const rpc::TaskSpec* current_task_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace orrery::core
