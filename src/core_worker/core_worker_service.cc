#include "src/core_worker/core_worker_service.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "boost/asio/steady_timer.hpp"
#include "src/core_worker/core_worker.h"
#include "src/common/status.h"
#include "src/core_worker/object_conversion.h"
#include "src/rpc/status_conversion.h"

namespace orrery::core {

namespace {

// The longest a GetObject is held open waiting for the value, whatever its asker says (the
// fetcher asks for 10 s): each open one holds a call and a waiting callback.
constexpr int64_t kMaxGetObjectWaitMs = 60'000;

// The object id in `binary`, or nullopt once `reactor` is finished with why it is malformed.
std::optional<ObjectId> ObjectIdOrFinish(const std::string& binary, grpc::ServerUnaryReactor* reactor) {
  auto id = ObjectId::FromBinary(binary);
  if (id.ok()) return *id;
  reactor->Finish(rpc::ToGrpcStatus(id.status()));
  return std::nullopt;
}

}  // namespace

CoreWorkerServiceImpl::CoreWorkerServiceImpl(CoreWorker& core, const std::string& token)
    : core_(core), auth_("core worker", token) {}

CoreWorkerServiceImpl::~CoreWorkerServiceImpl() {
  if (creation_.joinable()) creation_.join();
}

bool CoreWorkerServiceImpl::Refuse(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor) {
  absl::Status status = auth_.Check(*context);
  if (status.ok()) return false;
  reactor->Finish(rpc::ToGrpcStatus(status));
  return true;
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::Exit(grpc::CallbackServerContext* context,
                                                      const rpc::ExitRequest* request, rpc::ExitReply* reply) {
  auto* reactor = context->DefaultReactor();
  if (Refuse(context, reactor)) return reactor;
  reply->set_accepted(true);
  reactor->Finish(grpc::Status::OK);
  if (!exit_requested_.HasBeenNotified()) exit_requested_.Notify();
  return reactor;
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::GetWorkerInfo(grpc::CallbackServerContext* context,
                                                               const rpc::GetWorkerInfoRequest* request,
                                                               rpc::GetWorkerInfoReply* reply) {
  auto* reactor = context->DefaultReactor();
  if (Refuse(context, reactor)) return reactor;
  reply->set_worker_id(core_.options().worker_id.Binary());
  reply->set_pid(getpid());
  reply->set_job_id(core_.options().job_id.Binary());
  const char* forked = std::getenv("ORRERY_FORKED_FROM_ZYGOTE");
  reply->set_forked_from_zygote(forked != nullptr && forked[0] == '1');
  for (const char* name : {"CUDA_VISIBLE_DEVICES", "ORRERY_IS_ACTOR_WORKER"}) {
    if (const char* value = std::getenv(name); value != nullptr) (*reply->mutable_runtime_env())[name] = value;
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::Status CoreWorkerServiceImpl::PushTasks(grpc::ServerContext* context,
                                              grpc::ServerReaderWriter<rpc::ResultBatch, rpc::TaskBatch>* stream) {
  if (absl::Status status = auth_.Check(*context); !status.ok()) return rpc::ToGrpcStatus(status);
  core_.registered_.WaitForNotification();
  if (core_.executor_ == nullptr) return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "a driver runs no tasks");
  core_.executor_->Serve(stream);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::GetObject(grpc::CallbackServerContext* context,
                                                           const rpc::GetObjectRequest* request,
                                                           rpc::GetObjectReply* reply) {
  auto* reactor = context->DefaultReactor();
  if (Refuse(context, reactor)) return reactor;
  std::optional<ObjectId> id = ObjectIdOrFinish(request->object_id(), reactor);
  if (!id.has_value()) return reactor;
  if (!core_.store_.Contains(*id) && !core_.references_->IsOwned(*id)) {
    reply->set_status(rpc::GetObjectReply::NOT_FOUND);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  std::shared_ptr<PendingAnswer> pending = Track(reply, reactor);
  if (pending == nullptr) return reactor;
  auto lost_at = NodeId::FromOptionalBinary(request->lost_at());
  if (lost_at.ok() && !lost_at->IsNil() && core_.references_->IsOwned(*id)) {
    // The asker could read no copy: once the owner has checked (and made the object again if
    // it was lost), it answers as to any asker. The request is kept: the check may outlast it.
    auto kept = std::make_shared<rpc::GetObjectRequest>(*request);
    core_.CheckLostCopy(*id, *lost_at, [this, id = *id, kept, pending] {
      if (!pending->answered) AnswerWhenReady(id, *kept, pending);
    });
    return reactor;
  }
  AnswerWhenReady(*id, *request, pending);
  return reactor;
}

std::shared_ptr<CoreWorkerServiceImpl::PendingAnswer> CoreWorkerServiceImpl::Track(rpc::GetObjectReply* reply,
                                                                                  grpc::ServerUnaryReactor* reactor) {
  {
    absl::MutexLock lock(&pending_mu_);
    if (!stopping_) {
      auto pending = std::make_shared<PendingAnswer>();
      pending->reply = reply;
      pending->reactor = reactor;
      pending_.insert(pending);
      return pending;
    }
  }
  reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the owner is shutting down"));
  return nullptr;
}

void CoreWorkerServiceImpl::Finish(const std::shared_ptr<PendingAnswer>& pending,
                                   const std::function<void(rpc::GetObjectReply*)>& fill) {
  {
    absl::MutexLock lock(&pending_mu_);
    pending_.erase(pending);
  }
  if (pending->finished.exchange(true)) return;
  fill(pending->reply);
  pending->reactor->Finish(grpc::Status::OK);
}

void CoreWorkerServiceImpl::FinishPendingAnswers() {
  absl::flat_hash_set<std::shared_ptr<PendingAnswer>> pending;
  {
    absl::MutexLock lock(&pending_mu_);
    stopping_ = true;
    pending.swap(pending_);
  }
  // Claimed ones too: an answer waiting for its refs' owners may never come once this stops.
  for (const auto& call : pending) {
    call->answered = true;
    if (!call->finished.exchange(true)) {
      call->reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the owner is shutting down"));
    }
  }
}

void CoreWorkerServiceImpl::AnswerWhenReady(const ObjectId& id, const rpc::GetObjectRequest& request,
                                            const std::shared_ptr<PendingAnswer>& pending) {
  // Answer when the value exists, or PENDING when the wait ends first: whichever comes first.
  rpc::WorkerAddress borrower = request.borrower();
  CoreWorker* core = &core_;
  auto timer = std::make_shared<boost::asio::steady_timer>(core_.loop_->io());
  uint64_t ticket = core_.store_.OnReady(id, [this, pending, borrower, core, timer](const Value& value) {
    if (!pending->Claim()) return;
    core->loop_->Post([timer] { timer->cancel(); });
    auto answer = [this, pending, value] {
      Finish(pending, [&value](rpc::GetObjectReply* reply) {
        reply->set_status(rpc::GetObjectReply::READY);
        ToWire(*value, reply->mutable_object());
      });
    };
    if (value->contained_refs.empty()) return answer();
    // The refs inside go out with it: their owners count the asker first. Without blocking
    // this thread (a gRPC or loop thread) while they answer.
    core->HandOverThen(*value, borrower, std::move(answer));
  });
  int64_t wait_ms = std::clamp<int64_t>(request.wait_ms(), 0, kMaxGetObjectWaitMs);
  core_.loop_->Post([this, timer, wait_ms, pending, core, id, ticket] {
    timer->expires_after(std::chrono::milliseconds(wait_ms));
    timer->async_wait([this, pending, core, id, ticket](const boost::system::error_code& ec) {
      if (ec || !pending->Claim()) return;
      // The asker polls again: this poll's callback must not stay behind until the value comes.
      core->store_.CancelOnReady(id, ticket);
      Finish(pending, [](rpc::GetObjectReply* reply) { reply->set_status(rpc::GetObjectReply::PENDING); });
    });
  });
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::UpdateBorrowers(grpc::CallbackServerContext* context,
                                                                 const rpc::UpdateBorrowersRequest* request,
                                                                 rpc::UpdateBorrowersReply* reply) {
  auto* reactor = context->DefaultReactor();
  if (Refuse(context, reactor)) return reactor;
  for (const rpc::BorrowerUpdate& update : request->updates()) {
    auto id = ObjectId::FromBinary(update.object_id());
    auto borrower = WorkerId::FromBinary(update.borrower().worker_id());
    if (!id.ok() || !borrower.ok()) continue;
    if (update.add()) {
      core_.references_->AddBorrower(*id, update.borrower());
    } else {
      core_.references_->RemoveBorrower(*id, *borrower);
    }
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::GetObjectLocations(grpc::CallbackServerContext* context,
                                                                    const rpc::GetObjectLocationsRequest* request,
                                                                    rpc::GetObjectLocationsReply* reply) {
  auto* reactor = context->DefaultReactor();
  if (Refuse(context, reactor)) return reactor;
  std::optional<ObjectId> id = ObjectIdOrFinish(request->object_id(), reactor);
  if (!id.has_value()) return reactor;
  for (const NodeId& node : core_.OwnedCopiesOf(*id)) reply->add_node_ids(node.Binary());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::AddObjectLocation(grpc::CallbackServerContext* context,
                                                                   const rpc::AddObjectLocationRequest* request,
                                                                   rpc::AddObjectLocationReply* reply) {
  auto* reactor = context->DefaultReactor();
  if (Refuse(context, reactor)) return reactor;
  std::optional<ObjectId> id = ObjectIdOrFinish(request->object_id(), reactor);
  if (!id.has_value()) return reactor;
  auto node = NodeId::FromBinary(request->node_id());
  if (!node.ok()) {
    reactor->Finish(rpc::ToGrpcStatus(node.status()));
    return reactor;
  }
  if (!core_.references_->IsOwned(*id)) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "object " + id->Hex() + " is not owned here (freed?)"));
    return reactor;
  }
  core_.copies_.Add(*id, *node);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

namespace {

absl::StatusOr<std::vector<LeaseId>> ParseLeaseIds(const google::protobuf::RepeatedPtrField<std::string>& binaries,
                                                   const char* what) {
  std::vector<LeaseId> leases;
  for (const std::string& binary : binaries) {
    auto id = LeaseId::FromBinary(binary);
    if (!id.ok()) return Annotate(id.status(), what);
    leases.push_back(*id);
  }
  return leases;
}

}  // namespace

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::YieldIdleLeases(grpc::CallbackServerContext* context,
                                                                 const rpc::YieldIdleLeasesRequest* request,
                                                                 rpc::YieldIdleLeasesReply* reply) {
  auto* reactor = context->DefaultReactor();
  if (Refuse(context, reactor)) return reactor;
  auto leases = ParseLeaseIds(request->lease_ids(), "YieldIdleLeases lease_ids");
  if (!leases.ok()) {
    reactor->Finish(rpc::ToGrpcStatus(leases.status()));
    return reactor;
  }
  // Before registration this process holds no lease (and has no submitter yet).
  if (core_.registered_.HasBeenNotified()) core_.submitter_->YieldIdleLeases(*leases);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::CheckLeases(grpc::CallbackServerContext* context,
                                                             const rpc::CheckLeasesRequest* request,
                                                             rpc::CheckLeasesReply* reply) {
  auto* reactor = context->DefaultReactor();
  if (Refuse(context, reactor)) return reactor;
  auto leases = ParseLeaseIds(request->lease_ids(), "CheckLeases lease_ids");
  if (!leases.ok()) {
    reactor->Finish(rpc::ToGrpcStatus(leases.status()));
    return reactor;
  }
  // Before registration this process asked for no lease: it holds none.
  for (const LeaseId& lease : *leases) {
    if (!core_.registered_.HasBeenNotified() || !core_.submitter_->Holds(lease)) {
      reply->add_not_held(lease.Binary());
    }
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::CreateActor(grpc::CallbackServerContext* context,
                                                             const rpc::CreateActorRequest* request,
                                                             rpc::CreateActorReply* reply) {
  auto* reactor = context->DefaultReactor();
  if (Refuse(context, reactor)) return reactor;
  // Not executor_, which Start() sets while this service already serves (the creation thread
  // waits for registration before it uses it).
  if (core_.options().is_driver) {
    reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "a driver holds no actor"));
    return reactor;
  }
  std::string key = request->creation().actor_id() + ":" + std::to_string(request->num_restarts());
  {
    absl::MutexLock lock(&creation_mu_);
    if (!creation_key_.empty()) {
      if (creation_key_ != key) {
        reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "this worker holds an actor"));
      } else if (creation_reply_.has_value()) {
        *reply = *creation_reply_;
        reactor->Finish(grpc::Status::OK);
      } else {
        creation_waiters_.emplace_back(reactor, reply);
      }
      return reactor;
    }
    creation_key_ = key;
    creation_waiters_.emplace_back(reactor, reply);
  }
  creation_ = std::thread([this, creation = *request] {
    core_.registered_.WaitForNotification();
    rpc::CreateActorReply result = core_.executor_->CreateActor(creation);
    std::vector<std::pair<grpc::ServerUnaryReactor*, rpc::CreateActorReply*>> waiters;
    {
      absl::MutexLock lock(&creation_mu_);
      creation_reply_ = result;
      waiters.swap(creation_waiters_);
    }
    for (auto& [waiting, answer] : waiters) {
      *answer = result;
      waiting->Finish(grpc::Status::OK);
    }
  });
  return reactor;
}

grpc::ServerUnaryReactor* CoreWorkerServiceImpl::PublishLogs(grpc::CallbackServerContext* context,
                                                             const rpc::PublishLogsRequest* request,
                                                             rpc::PublishLogsReply* reply) {
  auto* reactor = context->DefaultReactor();
  if (Refuse(context, reactor)) return reactor;
  // A worker's output, on the driver's terminal, each line saying where it came from.
  std::string prefix = "(worker " + WorkerId::FromOptionalBinary(request->worker_id()).value_or(WorkerId()).ShortHex() +
                       " pid=" + std::to_string(request->pid()) + ") ";
  std::string text;
  for (const std::string& line : request->lines()) text += prefix + line + "\n";
  FILE* out = request->is_stderr() ? stderr : stdout;
  fwrite(text.data(), 1, text.size(), out);
  fflush(out);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace orrery::core
