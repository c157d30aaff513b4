// A stand-in for the runtime behind the public templates (orrery/internal/runtime.h) in the
// fuzz targets of the API: it counts every reference an ObjectRef takes and releases, so a target
// can check that a ref which fails to unpack releases nothing it never took, and that every
// reference taken is given back. Borrow refuses a malformed id as the runtimes do (OrreryException).
// Only the reference calls and Put work; anything else throws.
//
// Linked instead of liborrery (whose gRPC clients do not build with clang-14), with the real
// helpers of src/api/support.cc; CurrentRuntime() returns the one instance.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "orrery/internal/runtime.h"

namespace orrery::fuzz {

class CountingRuntime : public internal::Runtime {
 public:
  static CountingRuntime& Instance();

  // References taken and not released, per binary id (ids at zero are dropped).
  std::map<std::string, int> Held();

  void AddLocalRef(const std::string& object_id) override;
  void RemoveLocalRef(const std::string& object_id) override;
  std::string Put(internal::SerializedValue value) override;
  std::string OwnerOf(const std::string& object_id) override;
  void Borrow(const internal::RefInfo& ref) override;

  std::vector<std::shared_ptr<const internal::SerializedValue>> Get(const std::vector<std::string>&, int64_t) override;
  std::vector<bool> Wait(const std::vector<std::string>&, int, int64_t) override;
  std::string Submit(internal::TaskCall) override;
  internal::ActorHandleIds CreateActor(internal::ActorCreation) override;
  std::string SubmitActorTask(const std::string&, internal::TaskCall) override;
  void KillActor(const std::string&, bool) override;
  std::string GetNamedActor(const std::string&, const std::string&) override;
  std::string Namespace() override;
  std::string NodeIdHex() override;
  std::vector<std::string> AliveNodeIds() override;
  int CurrentActorRestarts() override;
  PlacementGroup CreatePlacementGroup(const PlacementGroupCreationOptions&) override;
  void RemovePlacementGroup(const std::string&) override;
  bool WaitPlacementGroupReady(const std::string&, int64_t) override;
  PlacementGroup FindPlacementGroup(const std::string&, bool) override;
  std::vector<PlacementGroup> GetAllPlacementGroups() override;

 private:
  std::mutex mu_;
  std::map<std::string, int> counts_;
  uint64_t next_put_ = 0;
};

}  // namespace orrery::fuzz
