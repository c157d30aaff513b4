// ReferenceCounter: the references this process holds to each object it knows, and, for the
// objects it owns, who else holds them (borrowers). An owned object is freed when nothing holds
// it: no ObjectRef here, no pending task, no stored value containing it, no borrower. A borrowed
// object is released when nothing here holds it any more: its owner is told.
// Lineage: an owned object made by a task that is kept to make it again (see LineageTable)
// names the owned objects that task took as arguments. While it is known here, so are they,
// even after their values are freed: their own lineage can make them again for it. An owned
// object is forgotten (its entry goes, and with it what its lineage named) once it is freed
// and no known object's lineage names it.
// On the hot path: one mutex, called directly from user threads (ObjectRef copies) and gRPC
// threads; the callbacks run outside it.
#pragma once

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "orrery/common.pb.h"
#include "src/common/id.h"

namespace orrery::core {

class ReferenceCounter {
 public:
  struct Callbacks {
    // An owned object nobody holds: drop its value.
    std::function<void(const ObjectId&)> on_free;
    // A borrowed object nothing here holds: tell its owner this process is done with it.
    std::function<void(const ObjectId&, const rpc::WorkerAddress& owner)> on_release;
    // An owned object is forgotten: freed, and no lineage needs it (its own lineage can go).
    std::function<void(const ObjectId&)> on_forget;
  };

  ReferenceCounter(rpc::WorkerAddress self, Callbacks callbacks);

  // A new object this process owns, held by one ObjectRef (the caller's). The refs its value
  // contains are held until it is freed.
  void AddOwned(const ObjectId& id, const std::vector<ObjectId>& contained = {});
  // A value stored here (received or fetched) contains a ref owned elsewhere; the sender
  // registered this process with the owner. Held until the containing value is freed.
  void AddContainedBorrowed(const ObjectId& id, const rpc::WorkerAddress& owner);
  // A copy of borrowed object `id` is stored here; the refs it contains are held with it.
  void SetContained(const ObjectId& id, const std::vector<ObjectId>& contained);
  // A ref was deserialized here. True when this process must register with the owner first
  // (it neither owns the object nor is registered yet); it counts as registered afterwards.
  bool NoteBorrowed(const ObjectId& id, const rpc::WorkerAddress& owner);

  void AddLocalRef(const ObjectId& id);
  void RemoveLocalRef(const ObjectId& id);
  // Refs held by a task until it completes (its arguments, the refs inside them).
  void AddSubmittedRefs(const std::vector<ObjectId>& ids);
  void RemoveSubmittedRefs(const std::vector<ObjectId>& ids);

  // Owned `id`'s lineage takes the owned objects `arguments`: they are kept known while `id` is
  // (set once; later calls change nothing).
  void SetLineage(const ObjectId& id, const std::vector<ObjectId>& arguments);
  // `id`'s lineage was dropped (evicted): what it named may be forgotten.
  void DropLineage(const ObjectId& id);

  // Owner side of the borrower protocol.
  void AddBorrower(const ObjectId& id, const rpc::WorkerAddress& borrower);
  void RemoveBorrower(const ObjectId& id, const WorkerId& borrower);
  // A process died: it borrows nothing any more.
  void OnWorkerDied(const WorkerId& worker);
  void OnNodeDied(const NodeId& node);

  bool IsOwned(const ObjectId& id) const;
  // Something holds `id` here (a ref, a pending task, a containing value, a borrower): its value
  // is wanted. An object known only for lineage is not held.
  bool IsHeld(const ObjectId& id) const;
  // The owner of a known object (this process's own address when it owns it).
  std::optional<rpc::WorkerAddress> OwnerOf(const ObjectId& id) const;
  size_t size() const;
  // How many borrowers an owned object has.
  size_t NumBorrowers(const ObjectId& id) const;

  // What holds one object here, as `orrery memory` shows it.
  struct Holding {
    ObjectId id;
    bool owned = false;
    rpc::WorkerAddress owner;
    int64_t local = 0;
    int64_t submitted = 0;
    int64_t contained_in = 0;
    int64_t borrowers = 0;
  };
  // At most `limit` of the objects known here (in no particular order), and how many there are.
  std::pair<std::vector<Holding>, size_t> List(size_t limit) const;

 private:
  struct Entry {
    bool owned = false;
    rpc::WorkerAddress owner;
    int64_t local = 0;
    int64_t submitted = 0;
    int64_t contained_in = 0;  // stored values (here) that contain this ref
    bool registered = false;   // borrowed: this process is registered with the owner
    absl::flat_hash_map<WorkerId, rpc::WorkerAddress> borrowers;
    std::vector<ObjectId> contains;
    // Lineage: how many known objects' lineage names this one, and what its own names.
    int64_t lineage = 0;
    std::vector<ObjectId> lineage_arguments;
    // Owned: its value was freed and nothing held it since (it is known for lineage only).
    bool freed = false;
    bool held() const { return local > 0 || submitted > 0 || contained_in > 0 || !borrowers.empty(); }
  };
  struct Actions {
    std::vector<ObjectId> freed;
    std::vector<std::pair<ObjectId, rpc::WorkerAddress>> released;
    std::vector<ObjectId> forgotten;
  };
  // The entry of `id`, now held again (a freed value may be made anew).
  Entry& HoldLocked(const ObjectId& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `ids` are no longer named by a lineage; each one unheld and unnamed goes (into `pending`).
  void UnnameLocked(const std::vector<ObjectId>& ids, std::vector<ObjectId>& pending) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Frees or releases `id` if nothing holds it, cascading to what it contained.
  void MaybeDropLocked(const ObjectId& id, Actions& actions) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run(Actions& actions);

  const rpc::WorkerAddress self_;
  Callbacks callbacks_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<ObjectId, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace orrery::core
