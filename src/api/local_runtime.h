// LocalRuntime: the Runtime of local mode (Config::local_mode): everything in this process, no
// daemons, for debugging with an ordinary debugger. Normal tasks run on a thread pool
// (LocalTaskPool), actors on threads of their own (LocalActors), values live in an in-process
// store (LocalObjects), placement groups on one local node (LocalNode). Values are serialized
// exactly as in cluster mode and errors are stored and raised the same way, so a program sees
// the same results and exceptions in both modes (docs/design/local-mode.md says what differs).
// Threads: any thread may call it; Stop() once, from outside tasks and actors.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "orrery/internal/runtime.h"
#include "src/api/local_actors.h"
#include "src/api/local_node.h"
#include "src/api/local_objects.h"
#include "src/api/local_task_pool.h"

namespace orrery::api {

struct LocalRuntimeOptions {
  // The job's namespace; empty: a random one.
  std::string job_namespace;
  // The node's resources: what tasks, actors and placement groups are checked against.
  ResourceSet node_resources;
  // How many normal tasks run at once (more while some wait inside: see LocalTaskPool).
  int task_threads = 2;
  bool detached_actors_by_default = false;
};

class LocalRuntime final : public internal::Runtime {
 public:
  explicit LocalRuntime(LocalRuntimeOptions options);
  ~LocalRuntime() override;

  // Fails the work that has not started (tasks waiting for arguments, room or a thread; actor
  // calls queued), then waits for the tasks and methods running to return. Idempotent.
  void Stop();

  void AddLocalRef(const std::string& object_id) override;
  void RemoveLocalRef(const std::string& object_id) override;
  std::string Put(internal::SerializedValue value) override;
  std::vector<std::shared_ptr<const internal::SerializedValue>> Get(const std::vector<std::string>& object_ids,
                                                                    int64_t timeout_ms) override;
  std::vector<bool> Wait(const std::vector<std::string>& object_ids, int num_objects, int64_t timeout_ms) override;
  std::string Submit(internal::TaskCall call) override;
  internal::ActorHandleIds CreateActor(internal::ActorCreation creation) override;
  std::string SubmitActorTask(const std::string& actor_id, internal::TaskCall call) override;
  void KillActor(const std::string& actor_id, bool no_restart) override;
  std::string GetNamedActor(const std::string& name, const std::string& name_space) override;
  std::string Namespace() override { return job_namespace_; }
  std::string NodeIdHex() override { return node_.id().Hex(); }
  std::vector<std::string> AliveNodeIds() override { return {node_.id().Hex()}; }
  int CurrentActorRestarts() override;
  std::string OwnerOf(const std::string& object_id) override;
  void Borrow(const internal::RefInfo& ref) override;

  PlacementGroup CreatePlacementGroup(const PlacementGroupCreationOptions& options) override;
  void RemovePlacementGroup(const std::string& id) override;
  bool WaitPlacementGroupReady(const std::string& id, int64_t timeout_ms) override;
  PlacementGroup FindPlacementGroup(const std::string& id_or_name, bool by_name) override;
  std::vector<PlacementGroup> GetAllPlacementGroups() override;

 private:
  struct Task;
  // Runs `task` once its arguments exist, or parks it while the node cannot hold its demand.
  void Schedule(std::shared_ptr<Task> task);
  void Run(Task& task);
  // Stores `error` as the task's result (it never runs).
  void Fail(Task& task, rpc::ErrorInfo error);
  // Parked tasks the node can hold now start; those of a removed group fail.
  void Reschedule();
  // Get's and Wait's hooks: a task waiting lends its pool thread.
  std::function<void()> BlockHook(bool blocked);

  const std::string job_namespace_;
  const NodeId node_id_ = NodeId::FromRandom();
  LocalObjects objects_;
  LocalNode node_;
  LocalTaskPool pool_;
  LocalActors actors_;
  std::mutex parked_mu_;
  std::vector<std::shared_ptr<Task>> parked_;
  bool stopped_ = false;  // guarded by parked_mu_
};

}  // namespace orrery::api
