// A replicated key-value store in the shape of Ray's simple_kv_store example, through
// <ray/api.h> only: two actors in a SPREAD placement group whose bundles ask for Ray's "memory"
// resource, a primary that backs each write up to a replica found with GetActor, handles kept in
// boost::optional, void calls waited on, the group found by its id's bytes, RAYLOG in constructors, and a primary killed with
// restart that recovers its data from the replica.
#include <ray/api.h>
#include <ray/common/id.h>

#include "expect.h"

const std::string kPrimary = "kv_primary";
const std::string kReplica = "kv_replica";
const std::unordered_map<std::string, double> kActorResources{{"CPU", 1.0}, {"memory", 256.0 * 1024 * 1024}};

class Replica {
 public:
  Replica() { RAYLOG(INFO) << "replica up"; }
  void Save(const std::string& key, const std::string& value) { data_[key] = value; }
  std::unordered_map<std::string, std::string> All() { return data_; }

 private:
  std::unordered_map<std::string, std::string> data_;
};

class Primary {
 public:
  Primary() {
    replica_ = ray::GetActor<Replica>(kReplica);
    if (ray::WasCurrentActorRestarted() && replica_) {
      data_ = *replica_->Task(&Replica::All).Remote().Get();
      RAYLOG(INFO) << "primary restarted with " << data_.size() << " key(s) from the replica";
    }
  }
  void Put(const std::string& key, const std::string& value) {
    if (replica_) {
      std::vector<ray::ObjectRef<void>> saved{replica_->Task(&Replica::Save).Remote(key, value)};
      if (ray::Wait(saved, saved.size(), 5000).ready.empty()) RAYLOG(WARNING) << "no backup of " << key;
    }
    data_[key] = value;
  }
  std::pair<bool, std::string> Get(const std::string& key) {
    auto it = data_.find(key);
    return it == data_.end() ? std::make_pair(false, std::string()) : std::make_pair(true, it->second);
  }

 private:
  std::unordered_map<std::string, std::string> data_;
  boost::optional<ray::ActorHandle<Replica>> replica_;
};

static Primary* CreatePrimary() { return new Primary(); }
static Replica* CreateReplica() { return new Replica(); }
RAY_REMOTE(CreatePrimary, &Primary::Put, &Primary::Get);
RAY_REMOTE(CreateReplica, &Replica::Save, &Replica::All);

// Retries a call while the primary restarts.
template <typename F>
auto Retrying(F call) -> decltype(call()) {
  for (int attempt = 0;; ++attempt) {
    try {
      return call();
    } catch (const ray::internal::RayException&) {
      if (attempt == 30) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
}

int main(int argc, char** argv) {
  ray::RayConfig config;
  ray::Init(config, argc, argv);
  std::vector<std::unordered_map<std::string, double>> bundles{kActorResources, kActorResources};
  ray::PlacementGroupCreationOptions options{"kv_group", bundles, ray::PlacementStrategy::SPREAD};
  ray::PlacementGroup group = ray::CreatePlacementGroup(options);
  EXPECT(group.Wait(30));
  // A group's id is its bytes, as Ray's, and finds the group again.
  EXPECT(group.GetID().size() == ray::PlacementGroupID::Size());
  EXPECT(ray::GetPlacementGroupById(group.GetID()).GetName() == "kv_group");
  ray::Actor(CreateReplica).SetName(kReplica).SetResources(kActorResources).SetPlacementGroup(group, 1)
      .SetMaxRestarts(-1).Remote();
  // A named actor is found as soon as Remote() returns (its name is taken there).
  boost::optional<ray::ActorHandle<Replica>> replica = ray::GetActor<Replica>(kReplica);
  EXPECT(replica);
  if (replica) EXPECT(replica->Task(&Replica::All).Remote().Get()->empty());
  ray::Actor(CreatePrimary).SetName(kPrimary).SetResources(kActorResources).SetPlacementGroup(group, 0)
      .SetMaxRestarts(-1).Remote();
  boost::optional<ray::ActorHandle<Primary>> primary = ray::GetActor<Primary>(kPrimary);
  EXPECT(primary);

  Retrying([&] {
    primary->Task(&Primary::Put).Remote(std::string("hello"), std::string("ray")).Get();
    return 0;
  });
  EXPECT(Retrying([&] { return *primary->Task(&Primary::Get).Remote(std::string("hello")).Get(); }).second == "ray");
  primary->Kill(false);
  auto after = Retrying([&] { return *primary->Task(&Primary::Get).Remote(std::string("hello")).Get(); });
  EXPECT(after.first && after.second == "ray");

  ray::Shutdown();
  std::cout << "kv_store: " << (compat_failures == 0 ? "ok" : "failed") << std::endl;
  return compat_failures == 0 ? 0 : 1;
}
