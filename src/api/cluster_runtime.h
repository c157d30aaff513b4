// ClusterRuntime: the Runtime the public templates call, over a CoreWorker. It turns binary ids
// into ObjectIds, checks sizes against the inline limit, and raises stored errors as exceptions.
#pragma once

#include <memory>

#include "orrery/internal/runtime.h"
#include "src/core_worker/core_worker.h"

namespace orrery::api {

class ClusterRuntime final : public internal::Runtime {
 public:
  explicit ClusterRuntime(core::CoreWorker& core) : core_(core) {}

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
  std::string Namespace() override;
  std::string NodeIdHex() override;
  std::vector<std::string> AliveNodeIds() override;
  int CurrentActorRestarts() override;
  std::string OwnerOf(const std::string& object_id) override;
  void Borrow(const internal::RefInfo& ref) override;

  // Placement groups (placement_group.cc).
  PlacementGroup CreatePlacementGroup(const PlacementGroupCreationOptions& options) override;
  void RemovePlacementGroup(const std::string& id) override;
  bool WaitPlacementGroupReady(const std::string& id, int64_t timeout_ms) override;
  PlacementGroup FindPlacementGroup(const std::string& id_or_name, bool by_name) override;
  std::vector<PlacementGroup> GetAllPlacementGroups() override;

 private:

  core::CoreWorker& core_;
};

}  // namespace orrery::api
