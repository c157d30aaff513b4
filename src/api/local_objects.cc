#include "src/api/local_objects.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>

#include "src/core_worker/object_conversion.h"

namespace orrery::api {

namespace {

rpc::WorkerAddress LocalAddress(const NodeId& node) {
  rpc::WorkerAddress address;
  address.set_worker_id(WorkerId::FromRandom().Binary());
  address.set_node_id(node.Binary());
  return address;
}

std::vector<ObjectId> ContainedIds(const internal::SerializedValue& value) {
  std::vector<ObjectId> ids;
  for (const auto& ref : value.contained_refs) {
    if (auto id = ObjectId::FromBinary(ref.object_id); id.ok()) ids.push_back(*id);
  }
  return ids;
}

}  // namespace

LocalObjects::LocalObjects(const NodeId& node, std::function<void(const ObjectId&)> on_free)
    : node_(node),
      self_(LocalAddress(node)),
      references_(self_, core::ReferenceCounter::Callbacks{[this, on_free = std::move(on_free)](const ObjectId& id) {
                                                             store_.Delete(id);
                                                             if (on_free) on_free(id);
                                                           },
                                                           nullptr}) {}

void LocalObjects::RemoveLocalRef(const ObjectId& id) {
  LocalExecution* execution = LocalExecution::Current();
  if (execution != nullptr && execution->packed.contains(id)) {
    execution->deferred_releases.push_back(id);
    return;
  }
  references_.RemoveLocalRef(id);
}

ObjectId LocalObjects::Put(internal::SerializedValue value) {
  ObjectId id = ObjectIdOf(task_ids_.Next(), 0);
  if (value.view != nullptr && value.keep_alive == nullptr) {
    // Lent by the caller (see Runtime::Put): keep a copy.
    value.payload.assign(value.view, value.view_size);
    value.view = nullptr;
    value.view_size = 0;
  }
  references_.AddOwned(id, ContainedIds(value));
  store_.Put(id, std::make_shared<const internal::SerializedValue>(std::move(value)));
  return id;
}

void LocalObjects::MarkUnknownLost(const std::vector<ObjectId>& ids) {
  for (const ObjectId& id : ids) {
    if (!store_.Contains(id) && !references_.IsOwned(id)) store_.Put(id, core::ErrorValue(core::UnknownObjectError(id)));
  }
}

std::vector<core::Value> LocalObjects::Get(const std::vector<ObjectId>& ids, int64_t timeout_ms,
                                           const std::function<void()>& on_block,
                                           const std::function<void()>& on_unblock) {
  MarkUnknownLost(ids);
  return store_.Wait(ids, ids.size(), timeout_ms, on_block, on_unblock);
}

std::vector<bool> LocalObjects::Wait(const std::vector<ObjectId>& ids, int num_objects, int64_t timeout_ms,
                                     const std::function<void()>& on_block, const std::function<void()>& on_unblock) {
  MarkUnknownLost(ids);
  return core::FirstReady(store_.Wait(ids, static_cast<size_t>(num_objects), timeout_ms, on_block, on_unblock),
                          num_objects);
}

std::string LocalObjects::OwnerOf(const ObjectId& id) {
  if (LocalExecution* execution = LocalExecution::Current()) execution->packed.insert(id);
  return core::OwnerBytes(self_);
}

void LocalObjects::Borrow(const ObjectId& id) { references_.NoteBorrowed(id, self_); }

ObjectId LocalObjects::NewResult(TaskId* task_id) {
  *task_id = task_ids_.Next();
  ObjectId id = ObjectIdOf(*task_id, 0);
  references_.AddOwned(id);
  return id;
}

LocalArgs LocalObjects::Hold(std::vector<internal::TaskArgument> args) {
  LocalArgs held;
  for (internal::TaskArgument& arg : args) {
    if (arg.is_ref) {
      auto id = ObjectId::FromBinary(arg.object_id);
      // The templates only pass ids of live refs; a malformed one resolves as lost.
      ObjectId ref = id.ok() ? *id : ObjectId::FromRandom();
      held.refs.push_back(ref);
      held.values.push_back(nullptr);
      held.held.push_back(ref);
    } else {
      for (const ObjectId& inner : ContainedIds(arg.value)) held.held.push_back(inner);
      held.refs.push_back(ObjectId::Nil());
      held.values.push_back(std::make_shared<const internal::SerializedValue>(std::move(arg.value)));
    }
  }
  references_.AddSubmittedRefs(held.held);
  return held;
}

void LocalObjects::WhenReady(const LocalArgs& args, std::function<void()> ready) {
  std::vector<ObjectId> refs;
  for (const ObjectId& id : args.refs) {
    if (!id.IsNil()) refs.push_back(id);
  }
  if (refs.empty()) return ready();
  MarkUnknownLost(refs);
  auto remaining = std::make_shared<std::atomic<size_t>>(refs.size());
  auto shared_ready = std::make_shared<std::function<void()>>(std::move(ready));
  for (const ObjectId& id : refs) {
    store_.OnReady(id, [remaining, shared_ready](const core::Value&) {
      if (remaining->fetch_sub(1) == 1) (*shared_ready)();
    });
  }
}

std::vector<core::Value> LocalObjects::Resolve(const LocalArgs& args, rpc::ErrorInfo* error, bool* failed) {
  std::vector<ObjectId> refs;
  for (const ObjectId& id : args.refs) {
    if (!id.IsNil()) refs.push_back(id);
  }
  MarkUnknownLost(refs);
  std::vector<core::Value> found = store_.Wait(refs, refs.size(), -1);
  std::vector<core::Value> values = args.values;
  *failed = false;
  for (size_t i = 0, j = 0; i < values.size(); ++i) {
    if (values[i] == nullptr) values[i] = found[j++];
    // A failed argument fails the call with its error (which keeps its origin).
    if (!*failed && core::IsError(*values[i], error)) *failed = true;
  }
  return values;
}

void LocalObjects::StoreResult(const ObjectId& id, core::Value value) {
  if (!references_.IsOwned(id)) return;  // every ref to it is gone: nobody can read it
  if (!value->contained_refs.empty()) {
    std::vector<ObjectId> contained = ContainedIds(*value);
    for (const ObjectId& inner : contained) references_.AddContainedBorrowed(inner, self_);
    references_.SetContained(id, contained);
  }
  store_.Put(id, std::move(value));
}

void LocalObjects::StoreError(const ObjectId& id, rpc::ErrorInfo error) {
  if (error.node_id().empty()) {
    error.set_node_id(node_.Binary());
    error.set_worker_id(self_.worker_id());
    error.set_pid(getpid());
  }
  StoreResult(id, core::ErrorValue(error));
}

void LocalObjects::ReleaseDeferred(LocalExecution& execution) {
  std::vector<ObjectId> deferred = std::move(execution.deferred_releases);
  execution.deferred_releases.clear();
  execution.packed.clear();
  for (const ObjectId& id : deferred) references_.RemoveLocalRef(id);
}

}  // namespace orrery::api
