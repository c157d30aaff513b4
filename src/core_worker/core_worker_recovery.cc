// CoreWorker's lineage reconstruction (Ray's semantics): an owner keeps the task that made each
// of its objects in the object store (LineageTable), and when every copy of one is lost with
// its node, the next read that needs it has the owner re-run that task, recursively for its own
// arguments that were freed, each within that task's retry budget.
//
// How a loss is found: a reader (the owner, or a borrower: a Get, or a task's argument) could
// not read any copy (ObjectPuller tried every node the owner named). The owner is asked
// (directly, or with GetObject.lost_at); it makes the object again only once the GCS reports
// the node of its copy dead and its value still names that node, so a reader that merely lost
// a connection, or a second reader reporting the same loss, starts nothing. Until the GCS
// notices the death (a few health checks), the reader asks again, with back-off.
#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "src/common/log.h"
#include "src/core_worker/core_worker.h"
#include "src/core_worker/object_conversion.h"

namespace orrery::core {

namespace {

// How long a reader keeps asking while the owner does not consider the copy lost (the GCS has
// not declared its node dead yet: that takes a few missed health checks).
constexpr int64_t kLostCopyWaitMs = 30'000;
// A read of one copy (from this node's store, or a pull): an object restored from disk may take
// a while; one that never comes is reported lost.
constexpr int64_t kReadTimeoutMs = 60'000;
constexpr int64_t kFirstBackOffMs = 100;
constexpr int64_t kMaxBackOffMs = 1'000;

// Whether `value` is the error of a read that found no copy to read.
bool IsLostCopy(const internal::SerializedValue& value) {
  rpc::ErrorInfo error;
  return IsError(value, &error) && error.type() == rpc::ErrorInfo::OBJECT_LOST;
}

// The node a marker names, if it names one.
std::optional<NodeId> HolderOf(const internal::SerializedValue& marker) {
  if (marker.format != internal::Format::kInStore) return std::nullopt;
  auto node = NodeId::FromBinary(marker.payload);
  return node.ok() ? std::optional<NodeId>(*node) : std::nullopt;
}

}  // namespace

std::vector<ObjectId> CoreWorker::OwnedObjectsIn(const rpc::TaskSpec& task) {
  std::vector<ObjectId> owned;
  auto add = [this, &owned](const std::string& binary) {
    auto id = ObjectId::FromBinary(binary);
    if (id.ok() && references_->IsOwned(*id)) owned.push_back(*id);
  };
  for (const rpc::TaskArg& arg : task.args()) {
    if (arg.has_ref()) {
      add(arg.ref().object_id());
    } else {
      // An inline value holds itself, but not the refs inside it (a vector of ObjectRefs).
      for (const rpc::ObjectRefInfo& ref : arg.value().contained_refs()) add(ref.object_id());
    }
  }
  return owned;
}

void CoreWorker::RecordLineage(const ObjectId& result, const rpc::TaskSpec& task, const ResourceSet& resources) {
  // Before the task's own refs on its arguments go (ReleaseTaskRefs): they stay known.
  references_->SetLineage(result, OwnedObjectsIn(task));
  for (const ObjectId& evicted : lineage_->Record(result, task, resources)) references_->DropLineage(evicted);
}

Value CoreWorker::ReadOrRecover(const ObjectId& id, Value marker, int64_t timeout_ms) {
  const int64_t read_timeout_ms = timeout_ms >= 0 ? timeout_ms : kReadTimeoutMs;
  Value value = shared_->Read(id, *marker, read_timeout_ms);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kLostCopyWaitMs);
  int64_t back_off_ms = kFirstBackOffMs;
  while (IsLostCopy(*value) && std::chrono::steady_clock::now() < deadline) {
    std::optional<NodeId> holder = HolderOf(*marker);
    if (!holder.has_value()) break;
    // Waits as long as the read may (a re-run of a long task included).
    Value next = AskOwnerAfterLostCopy(id, *holder, timeout_ms);
    // Timed out while the owner makes it again: the caller says so (the ref stays usable),
    // rather than report the loss it was recovering from.
    if (next == nullptr) return nullptr;
    if (next->format != internal::Format::kInStore) return next;  // the error saying why not
    if (next->payload == marker->payload) {
      // The owner does not consider that copy lost (yet): ask again in a while.
      std::this_thread::sleep_for(std::chrono::milliseconds(back_off_ms));
      back_off_ms = std::min(back_off_ms * 2, kMaxBackOffMs);
    } else {
      // Made again elsewhere: a loss of the new copy gets the whole wait again.
      deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kLostCopyWaitMs);
    }
    marker = std::move(next);
    value = shared_->Read(id, *marker, read_timeout_ms);
  }
  if (IsLostCopy(*value)) {
    // The owner kept naming a copy nobody could read: said here, as only this reader knows.
    std::optional<NodeId> holder = HolderOf(*marker);
    spdlog::warn("giving up on object {} (its copy on node {} could not be read, and its owner did not make it again)",
                 id.Hex(), holder.has_value() ? holder->Hex() : std::string("?"));
  }
  return value;
}

Value CoreWorker::AskOwnerAfterLostCopy(const ObjectId& id, const NodeId& holder, int64_t timeout_ms) {
  if (references_->IsOwned(id)) {
    absl::Notification checked;
    CheckLostCopy(id, holder, [&checked] { checked.Notify(); });
    checked.WaitForNotification();
  } else {
    std::optional<rpc::WorkerAddress> owner = references_->OwnerOf(id);
    if (!owner.has_value() || owner->worker_id().empty()) return ErrorValue(UnknownObjectError(id));
    store_.Delete(id);  // the marker fetched before; the owner's answer replaces it
    fetcher_->Fetch(id, *owner, holder);
  }
  bool in_task = current_task_ != nullptr;
  std::vector<Value> values =
      store_.Wait({id}, 1, timeout_ms, in_task ? BlockHook(true) : nullptr, in_task ? BlockHook(false) : nullptr);
  return values[0];
}

void CoreWorker::CheckLostCopy(const ObjectId& id, const NodeId& holder, std::function<void()> then) {
  auto still_names_holder = [this, id, holder] {
    Value value = store_.GetIfReady(id);
    return value != nullptr && HolderOf(*value) == holder;
  };
  // Already made again (or being made): the reader reads the new value.
  if (!still_names_holder()) return then();
  gcs_->GetAllNodes(rpc::GetAllNodesRequest(), [this, id, holder, still_names_holder,
                                                then = std::move(then)](absl::StatusOr<rpc::GetAllNodesReply> nodes) {
    bool alive = !nodes.ok();  // the GCS cannot say: nothing is decided
    if (nodes.ok()) {
      alive = std::any_of(nodes->nodes().begin(), nodes->nodes().end(), [&holder](const rpc::NodeInfo& node) {
        return node.node_id() == holder.Binary() && node.state() == rpc::NodeInfo::ALIVE;
      });
    }
    if (!alive && still_names_holder()) Rebuild(id, absl::StrCat("its node ", holder.Hex(), " died"));
    then();
  });
}

void CoreWorker::Rebuild(const ObjectId& id, const std::string& why) {
  LineageTable::Rebuild rebuild = lineage_->StartRebuild(id, address_, why);
  switch (rebuild.action) {
    case LineageTable::Rebuild::Action::kInProgress:
      return;
    case LineageTable::Rebuild::Action::kFail:
      spdlog::warn("{}", rebuild.error.message());
      store_.Put(id, ErrorValue(rebuild.error));
      return;
    case LineageTable::Rebuild::Action::kRerun:
      spdlog::info("object {} was lost ({}): running task {} again (attempt {})", id.Hex(), why,
                   rebuild.task.function_name(), rebuild.task.attempt());
      // Readers now wait for the new value; copies left on live nodes stay evictable.
      store_.Delete(id);
      copies_.Take(id);
      Rerun(std::move(rebuild.task), rebuild.resources);
      return;
  }
}

void CoreWorker::Rerun(rpc::TaskSpec spec, const ResourceSet& resources) {
  auto task = std::make_shared<rpc::TaskSpec>(std::move(spec));
  // Held first, so that an argument made again below is kept for this task when it arrives.
  std::vector<std::pair<int, ObjectId>> owned_refs = HoldArguments(*task);
  for (const ObjectId& argument : OwnedObjectsIn(*task)) {
    // Freed since (only the lineage knew it): made again too, recursively.
    if (!store_.Contains(argument)) Rebuild(argument, "its value was freed, and a task that took it is run again");
  }
  if (!task->actor_id().empty()) {
    ActorId actor = ActorId::FromBinary(task->actor_id()).value_or(ActorId());
    events_->Record(*task, rpc::ACTOR_TASK, rpc::SUBMITTED);
    // A new call in this caller's order (its old number was answered and forgotten).
    if (actor_submitter_->Enqueue(actor, task)) {
      int64_t sequence = task->sequence_number();
      AwaitOwned(task, owned_refs, [this, actor, sequence] { actor_submitter_->Ready(actor, sequence); });
    }
    return;
  }
  events_->Record(*task, rpc::NORMAL_TASK, rpc::SUBMITTED);
  int64_t bytes = static_cast<int64_t>(task->ByteSizeLong());
  // Not Admit: a re-run must not wait behind the tasks that may be waiting for it.
  submitter_->AdmitNow(bytes);
  AwaitOwned(task, owned_refs, [this, task, resources, bytes] { PushNearArguments(task, resources, bytes); });
}

}  // namespace orrery::core
