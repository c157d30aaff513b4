#include "tests/fuzz/counting_runtime.h"

#include "orrery/errors.h"
#include "tests/fuzz/fuzz_util.h"

#include "src/common/id.h"

namespace orrery {
namespace internal {

Runtime* CurrentRuntime() { return &fuzz::CountingRuntime::Instance(); }
Runtime& RequireRuntime() { return fuzz::CountingRuntime::Instance(); }

}  // namespace internal

namespace fuzz {

namespace {
[[noreturn]] void Unsupported(const char* what) {
  throw OrreryException(std::string(what) + " is not in the fuzz targets' runtime");
}
}  // namespace

CountingRuntime& CountingRuntime::Instance() {
  static auto* runtime = new CountingRuntime();
  return *runtime;
}

std::map<std::string, int> CountingRuntime::Held() {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

void CountingRuntime::AddLocalRef(const std::string& object_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ++counts_[object_id];
}

void CountingRuntime::RemoveLocalRef(const std::string& object_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counts_.find(object_id);
  FUZZ_CHECK(it != counts_.end(), "a ref releases only a reference it took");
  if (--it->second == 0) counts_.erase(it);
}

std::string CountingRuntime::Put(internal::SerializedValue) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string id(ObjectId::kSize, '\0');
  uint64_t n = ++next_put_;
  for (size_t i = 0; i < sizeof(n) && i < id.size(); ++i) id[i] = static_cast<char>(n >> (8 * i));
  ++counts_[id];  // the caller's reference
  return id;
}

std::string CountingRuntime::OwnerOf(const std::string& object_id) {
  if (!ObjectId::FromBinary(object_id).ok()) Unsupported("packing a malformed ref");
  return "fuzz-owner";
}

void CountingRuntime::Borrow(const internal::RefInfo& ref) {
  // As the runtimes do: a malformed id is refused before anything is registered.
  if (auto id = ObjectId::FromBinary(ref.object_id); !id.ok()) {
    throw OrreryException("not an object id: " + std::string(id.status().message()));
  }
}

std::vector<std::shared_ptr<const internal::SerializedValue>> CountingRuntime::Get(const std::vector<std::string>&,
                                                                                   int64_t) {
  Unsupported("Get");
}
std::vector<bool> CountingRuntime::Wait(const std::vector<std::string>&, int, int64_t) { Unsupported("Wait"); }
std::string CountingRuntime::Submit(internal::TaskCall) { Unsupported("Submit"); }
internal::ActorHandleIds CountingRuntime::CreateActor(internal::ActorCreation) { Unsupported("CreateActor"); }
std::string CountingRuntime::SubmitActorTask(const std::string&, internal::TaskCall) { Unsupported("actor tasks"); }
void CountingRuntime::KillActor(const std::string&, bool) { Unsupported("KillActor"); }
std::string CountingRuntime::GetNamedActor(const std::string&, const std::string&) { Unsupported("named actors"); }
std::string CountingRuntime::Namespace() { return "fuzz"; }
std::string CountingRuntime::NodeIdHex() { return std::string(2 * NodeId::kSize, '0'); }
std::vector<std::string> CountingRuntime::AliveNodeIds() { return {NodeIdHex()}; }
int CountingRuntime::CurrentActorRestarts() { return -1; }
PlacementGroup CountingRuntime::CreatePlacementGroup(const PlacementGroupCreationOptions&) {
  Unsupported("placement groups");
}
void CountingRuntime::RemovePlacementGroup(const std::string&) { Unsupported("placement groups"); }
bool CountingRuntime::WaitPlacementGroupReady(const std::string&, int64_t) { Unsupported("placement groups"); }
PlacementGroup CountingRuntime::FindPlacementGroup(const std::string&, bool) { Unsupported("placement groups"); }
std::vector<PlacementGroup> CountingRuntime::GetAllPlacementGroups() { Unsupported("placement groups"); }

}  // namespace fuzz
}  // namespace orrery
