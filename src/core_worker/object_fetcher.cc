#include "src/core_worker/object_fetcher.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/steady_timer.hpp"
#include "src/core_worker/object_conversion.h"

namespace orrery::core {

namespace {
// How long an owner holds one GetObject open waiting for the value.
constexpr int64_t kOwnerWaitMs = 10'000;
// An owner that cannot be reached, but is not reported dead, is asked this many times (with
// back-off) before the object counts as lost.
constexpr int kMaxUnreachableAttempts = 40;

// Why `owner` cannot be asked, or OK. It came from a peer (inside an unpacked ObjectRef, or a
// task argument), so a malformed id fails this one read rather than the process.
absl::Status CheckOwnerAddress(const rpc::WorkerAddress& owner) {
  if (auto worker = WorkerId::FromBinary(owner.worker_id()); !worker.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("its owner's worker id is malformed: ", worker.status().message()));
  }
  if (auto node = NodeId::FromOptionalBinary(owner.node_id()); !node.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("its owner's node id is malformed: ", node.status().message()));
  }
  return absl::OkStatus();
}
}  // namespace

ObjectFetcher::ObjectFetcher(OwnerClients& owners, gcs::GcsClient& gcs, std::shared_ptr<EventLoop> loop,
                             rpc::WorkerAddress self, MemoryStore& store, FetchedCallback on_fetched)
    : owners_(owners),
      gcs_(gcs),
      loop_(std::move(loop)),
      self_(std::move(self)),
      store_(store),
      on_fetched_(std::move(on_fetched)) {}

void ObjectFetcher::Fetch(const ObjectId& id, const rpc::WorkerAddress& owner, std::optional<NodeId> lost_at) {
  {
    absl::MutexLock lock(&mu_);
    if (!in_progress_.insert(id).second) return;
  }
  if (absl::Status malformed = CheckOwnerAddress(owner); !malformed.ok()) {
    rpc::ErrorInfo error;
    error.set_type(rpc::ErrorInfo::OBJECT_LOST);
    error.set_message(absl::StrCat("cannot fetch object ", id.Hex(), ": ", malformed.message()));
    return Fail(id, std::move(error));
  }
  Ask(id, owner, lost_at.has_value() ? lost_at->Binary() : "", 0);
}

void ObjectFetcher::Ask(const ObjectId& id, const rpc::WorkerAddress& owner, const std::string& lost_at,
                        int attempt) {
  rpc::GetObjectRequest request;
  request.set_object_id(id.Binary());
  request.set_lost_at(lost_at);
  request.set_wait_ms(kOwnerWaitMs);
  *request.mutable_borrower() = self_;
  rpc::CallOptions options;
  options.timeout_ms = kOwnerWaitMs + 10'000;
  owners_.Get(owner)->Call(
      &rpc::CoreWorkerService::Stub::async::GetObject, request, options,
      [this, id, owner, lost_at, attempt](absl::StatusOr<rpc::GetObjectReply> reply) {
        if (!reply.ok()) return OnUnreachable(id, owner, lost_at, attempt, reply.status());
        switch (reply->status()) {
          case rpc::GetObjectReply::READY: {
            {
              absl::MutexLock lock(&mu_);
              in_progress_.erase(id);
            }
            on_fetched_(id, std::move(*reply->mutable_object()));
            return;
          }
          case rpc::GetObjectReply::PENDING:
            return Ask(id, owner, lost_at, 0);
          default: {
            rpc::ErrorInfo error;
            error.set_type(rpc::ErrorInfo::OBJECT_LOST);
            error.set_message(absl::StrCat("object ", id.Hex(), " is gone: its owner (worker ",
                                           WorkerId::FromBinary(owner.worker_id()).value_or(WorkerId()).Hex(),
                                           ") no longer has it"));
            return Fail(id, std::move(error));
          }
        }
      });
}

void ObjectFetcher::OnUnreachable(const ObjectId& id, const rpc::WorkerAddress& owner, const std::string& lost_at,
                                  int attempt, const absl::Status& status) {
  // Dead, or only unreachable for now? The owner's raylet reports its death to the GCS.
  rpc::GetWorkerFailuresRequest request;
  gcs_.GetWorkerFailures(request, [this, id, owner, lost_at, attempt, status](
                                      absl::StatusOr<rpc::GetWorkerFailuresReply> failures) {
    if (failures.ok()) {
      for (const rpc::WorkerDeath& death : failures->deaths()) {
        if (death.worker_id() != owner.worker_id()) continue;
        rpc::ErrorInfo error;
        error.set_type(rpc::ErrorInfo::OWNER_DIED);
        error.set_worker_id(owner.worker_id());
        error.set_node_id(owner.node_id());
        error.set_message(absl::StrCat("the owner of object ", id.Hex(), ", worker ",
                                       WorkerId::FromBinary(owner.worker_id()).value_or(WorkerId()).Hex(), " on node ",
                                       NodeId::FromOptionalBinary(owner.node_id()).value_or(NodeId()).Hex(), ", died (",
                                       death.detail(), ")"));
        return Fail(id, std::move(error));
      }
    }
    if (attempt + 1 >= kMaxUnreachableAttempts) {
      rpc::ErrorInfo error;
      error.set_type(rpc::ErrorInfo::OBJECT_LOST);
      error.set_message(absl::StrCat("cannot reach the owner of object ", id.Hex(), ": ", status.message()));
      return Fail(id, std::move(error));
    }
    auto timer = std::make_shared<boost::asio::steady_timer>(loop_->io(), std::chrono::milliseconds(250));
    timer->async_wait([this, timer, id, owner, lost_at, attempt](const boost::system::error_code& ec) {
      if (!ec) Ask(id, owner, lost_at, attempt + 1);
    });
  });
}

void ObjectFetcher::Fail(const ObjectId& id, rpc::ErrorInfo error) {
  {
    absl::MutexLock lock(&mu_);
    in_progress_.erase(id);
  }
  store_.Put(id, ErrorValue(error));
}

}  // namespace orrery::core
