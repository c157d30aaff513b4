// ObjectFetcher: brings here the values of objects other processes own, by asking each owner
// (GetObject, which waits for the value), and turns an owner that is gone into a stored
// OwnerDiedError naming it. Fetched values land in the memory store, where Get waits for them.
// Thread-safe; replies are handled on the core worker's loop.
#pragma once

#include <functional>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "src/common/event_loop.h"
#include "src/core_worker/memory_store.h"
#include "src/core_worker/owner_clients.h"
#include "src/gcs/client/gcs_client.h"

namespace orrery::core {

class ObjectFetcher {
 public:
  // `on_fetched` stores the value (and holds the refs inside it).
  using FetchedCallback = std::function<void(const ObjectId&, rpc::SerializedObject&&)>;

  ObjectFetcher(OwnerClients& owners, gcs::GcsClient& gcs, std::shared_ptr<EventLoop> loop, rpc::WorkerAddress self,
                MemoryStore& store, FetchedCallback on_fetched);

  // Starts fetching `id` from `owner`, unless it is under way already. `lost_at`: no copy of
  // the value fetched before could be read, the one it named being on that node (the owner
  // checks whether it was lost, and makes it again if so: GetObjectRequest.lost_at). An owner
  // address with a malformed id fails the read at once (OBJECT_LOST, naming the object and the
  // id): it came from a peer.
  void Fetch(const ObjectId& id, const rpc::WorkerAddress& owner, std::optional<NodeId> lost_at = std::nullopt);

 private:
  // `lost_at`: binary, empty for none.
  void Ask(const ObjectId& id, const rpc::WorkerAddress& owner, const std::string& lost_at, int attempt);
  void OnUnreachable(const ObjectId& id, const rpc::WorkerAddress& owner, const std::string& lost_at, int attempt,
                     const absl::Status& status);
  void Fail(const ObjectId& id, rpc::ErrorInfo error);

  OwnerClients& owners_;
  gcs::GcsClient& gcs_;
  std::shared_ptr<EventLoop> loop_;
  const rpc::WorkerAddress self_;
  MemoryStore& store_;
  FetchedCallback on_fetched_;
  absl::Mutex mu_;
  absl::flat_hash_set<ObjectId> in_progress_ ABSL_GUARDED_BY(mu_);
};

}  // namespace orrery::core
