#include "src/core_worker/actor_submitter.h"

#include "absl/strings/str_cat.h"
#include "src/common/log.h"
#include "src/core_worker/retry_policy.h"
#include "src/rpc/grpc_client.h"

namespace orrery::core {

namespace {

// Before retrying a GCS poll that failed (the GCS restarting, say).
constexpr int64_t kPollRetryDelayMs = 500;

const char* CauseText(rpc::ActorInfo::DeathCause cause) {
  switch (cause) {
    case rpc::ActorInfo::KILLED:
      return "it was killed";
    case rpc::ActorInfo::EXITED:
      return "it exited (orrery::ExitActor)";
    case rpc::ActorInfo::CREATION_FAILED:
      return "its creation failed";
    case rpc::ActorInfo::PROCESS_DIED:
      return "its process died";
    case rpc::ActorInfo::NODE_DIED:
      return "its node died";
    case rpc::ActorInfo::OWNER_DIED:
      return "its owner died";
    case rpc::ActorInfo::OUT_OF_SCOPE:
      return "every handle to it was gone";
    default:
      return "it died";
  }
}

}  // namespace

rpc::ErrorInfo ActorShutdownErrorInfo() {
  rpc::ErrorInfo error;
  error.set_type(rpc::ErrorInfo::ACTOR_DIED);
  error.set_message("Orrery is shutting down");
  return error;
}

rpc::ErrorInfo ActorDiedErrorInfo(const rpc::ActorInfo& actor, const std::string& function) {
  rpc::ErrorInfo error;
  error.set_type(rpc::ErrorInfo::ACTOR_DIED);
  error.set_function(function);
  std::string who = ActorId::FromOptionalBinary(actor.actor_id()).value_or(ActorId()).Hex();
  if (!actor.name().empty()) absl::StrAppend(&who, " (", actor.name(), ")");
  error.set_message(absl::StrCat("ray::internal::RayActorException: actor ", who, " is dead: ",
                                 CauseText(actor.death_cause()),
                                 actor.death_message().empty() ? "" : ": ", actor.death_message()));
  return error;
}

ActorSubmitter::ActorSubmitter(Options options, std::shared_ptr<EventLoop> loop, gcs::GcsClient& gcs, WorkerId self,
                               Callbacks callbacks)
    : options_(std::move(options)),
      loop_(std::move(loop)),
      gcs_(gcs),
      self_(self),
      callbacks_(std::move(callbacks)),
      stubs_(options_.rpc, options_.cluster_token, options_.local_node) {}

ActorSubmitter::~ActorSubmitter() { Stop(); }

// ---- calls ----

bool ActorSubmitter::Enqueue(const ActorId& id, std::shared_ptr<rpc::TaskSpec> task) {
  Failed failed;
  {
    absl::MutexLock lock(&mu_);
    ActorState& actor = actors_[id];
    if (stopped_) {
      failed.emplace_back(*task, ActorShutdownErrorInfo());
    } else if (actor.dead) {
      failed.emplace_back(*task, ActorDiedErrorInfo(actor.info, task->function_name()));
    } else {
      actor.id = id;
      if (!actor.known && !actor.polling) {
        PollLocked(actor, 0);
      }
      int64_t sequence = actor.next_sequence++;
      task->set_actor_id(id.Binary());
      task->set_caller_id(self_.Binary());
      task->set_sequence_number(sequence);
      actor.calls[sequence] = Call{std::move(task)};
    }
  }
  Report(failed);
  return failed.empty();
}

void ActorSubmitter::Ready(const ActorId& id, int64_t sequence_number) {
  absl::MutexLock lock(&mu_);
  auto it = actors_.find(id);
  if (it == actors_.end()) return;
  auto call = it->second.calls.find(sequence_number);
  if (call == it->second.calls.end()) return;  // failed meanwhile
  call->second.ready = true;
  FlushLocked(it->second);
}

void ActorSubmitter::FlushLocked(ActorState& actor) {
  if (actor.stream == nullptr) return;
  // The actor forgets the results below the first call still unanswered.
  actor.stream->SetReceivedBelow(actor.calls.empty() ? actor.next_sequence : actor.calls.begin()->first);
  for (auto& [sequence, call] : actor.calls) {
    if (call.sent_to >= 0) continue;
    if (!call.ready) break;  // later calls wait for it: the actor runs them in order
    call.sent_to = actor.stream_incarnation;
    actor.stream->Send(*call.task);
  }
}

// ---- the actor's state ----

void ActorSubmitter::PollLocked(ActorState& actor, int64_t wait_ms) {
  if (actor.polling || stopped_) return;
  actor.polling = true;
  rpc::GetActorInfoRequest request;
  request.set_actor_id(actor.id.Binary());
  request.set_after_version(actor.known ? actor.info.version() : -1);
  request.set_wait_ms(wait_ms);
  std::weak_ptr<ActorSubmitter> weak = weak_from_this();
  ActorId id = actor.id;
  gcs_.GetActorInfo(request, [weak, id](absl::StatusOr<rpc::GetActorInfoReply> reply) {
    if (auto self = weak.lock()) self->OnActorInfo(id, std::move(reply));
  });
}

void ActorSubmitter::OnActorInfo(const ActorId& id, absl::StatusOr<rpc::GetActorInfoReply> reply) {
  Failed failed;
  {
    absl::MutexLock lock(&mu_);
    auto it = actors_.find(id);
    if (stopped_ || it == actors_.end()) return;
    ActorState& actor = it->second;
    actor.polling = false;
    if (!reply.ok()) {
      spdlog::warn("asking the GCS about actor {}: {}", id.ShortHex(), reply.status().message());
      auto timer = std::make_shared<boost::asio::steady_timer>(loop_->io(),
                                                               std::chrono::milliseconds(kPollRetryDelayMs));
      std::weak_ptr<ActorSubmitter> weak = weak_from_this();
      timer->async_wait([weak, id, timer](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (ec || self == nullptr) return;
        absl::MutexLock lock(&self->mu_);
        auto found = self->actors_.find(id);
        if (found != self->actors_.end()) self->PollLocked(found->second, 0);
      });
      return;
    }
    if (!reply->found()) {
      rpc::ActorInfo unknown;
      unknown.set_actor_id(id.Binary());
      unknown.set_state(rpc::ActorInfo::DEAD);
      unknown.set_death_message("the GCS knows no such actor");
      actor.info = unknown;
    } else if (!actor.known || reply->actor().version() >= actor.info.version()) {
      actor.info = reply->actor();
    }
    actor.known = true;
    ApplyStateLocked(actor, failed);
  }
  Report(failed);
}

void ActorSubmitter::NoteKilled(const ActorId& id, const std::string& message) {
  Failed failed;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    ActorState& actor = actors_[id];
    actor.id = id;
    if (actor.dead) return;
    // What the GCS now records, without asking it again.
    actor.info.set_actor_id(id.Binary());
    actor.info.set_state(rpc::ActorInfo::DEAD);
    actor.info.set_death_cause(rpc::ActorInfo::KILLED);
    actor.info.set_death_message(message);
    actor.info.set_version(actor.info.version() + 1);
    actor.known = true;
    ApplyStateLocked(actor, failed);
  }
  Report(failed);
}

void ActorSubmitter::ApplyStateLocked(ActorState& actor, Failed& failed) {
  const rpc::ActorInfo& info = actor.info;
  if (info.state() == rpc::ActorInfo::DEAD) {
    actor.dead = true;
    for (auto& [sequence, call] : actor.calls) {
      failed.emplace_back(*call.task, ActorDiedErrorInfo(info, call.task->function_name()));
    }
    actor.calls.clear();
    if (actor.stream != nullptr) actor.stream->Cancel();
    return;
  }
  RetryOrFailLocked(actor, failed);
  if (info.state() == rpc::ActorInfo::ALIVE && actor.stream == nullptr) {
    ConnectLocked(actor);
    return;
  }
  if (actor.stream == nullptr) PollLocked(actor, options_.poll_ms);
}

void ActorSubmitter::RetryOrFailLocked(ActorState& actor, Failed& failed) {
  int incarnation = actor.info.num_restarts();
  bool restarted = actor.info.state() == rpc::ActorInfo::RESTARTING;
  for (auto it = actor.calls.begin(); it != actor.calls.end();) {
    Call& call = it->second;
    bool lost = call.sent_to >= 0 && (call.sent_to < incarnation || (restarted && call.sent_to == incarnation));
    if (!lost) {
      ++it;
      continue;
    }
    int attempt = call.task->attempt() + 1;
    int budget = RetryBudget(*call.task, actor.info.max_task_retries());
    if (WithinRetries(attempt, budget)) {
      call.task->set_attempt(attempt);
      call.sent_to = -1;
      ++it;
      continue;
    }
    rpc::ErrorInfo error;
    error.set_type(rpc::ErrorInfo::ACTOR_DIED);
    error.set_function(call.task->function_name());
    error.set_message(absl::StrCat("ray::internal::RayActorException: actor ", actor.id.Hex(), " died while running ",
                                   call.task->function_name(), " (its process died; the call was tried ", attempt,
                                   " times, ", call.task->has_max_retries() ? "max_retries " : "max_task_retries ",
                                   budget, "); the actor restarts"));
    failed.emplace_back(*call.task, std::move(error));
    it = actor.calls.erase(it);
  }
}

void ActorSubmitter::ConnectLocked(ActorState& actor) {
  const rpc::ActorInfo& info = actor.info;
  if (actor.stream_incarnation != info.num_restarts()) {
    // A new process: it runs this caller's calls from the first unanswered one.
    actor.stream_incarnation = info.num_restarts();
  }
  // Everything unanswered goes again, in order (the same process answers what it ran already).
  for (auto& [sequence, call] : actor.calls) call.sent_to = -1;
  uint64_t epoch = ++actor.stream_epoch;
  actor.results_on_stream = 0;
  std::weak_ptr<ActorSubmitter> weak = weak_from_this();
  ActorId id = actor.id;
  WorkerStream::Callbacks callbacks;
  callbacks.on_results = [weak, id, epoch](rpc::ResultBatch& results) {
    if (auto self = weak.lock()) self->OnResults(id, epoch, results);
  };
  callbacks.on_done = [weak, id, epoch](const grpc::Status& status) {
    if (auto self = weak.lock()) self->OnStreamDone(id, epoch, status);
  };
  actor.stream = WorkerStream::Open(stubs_.For(info.address()), options_.cluster_token, std::move(callbacks),
                                    streams_.Acquire());
  FlushLocked(actor);
}

void ActorSubmitter::OnResults(const ActorId& id, uint64_t epoch, rpc::ResultBatch& results) {
  std::vector<std::pair<std::shared_ptr<rpc::TaskSpec>, rpc::SerializedObject>> done;
  {
    absl::MutexLock lock(&mu_);
    auto it = actors_.find(id);
    if (it == actors_.end() || it->second.stream_epoch != epoch) return;
    ActorState& actor = it->second;
    for (rpc::TaskResult& result : *results.mutable_results()) {
      auto call = actor.calls.find(result.sequence_number());
      if (call == actor.calls.end()) continue;  // answered before a reconnect, or failed
      // Its result's lineage runs it again within the actor's budget when it set none.
      if (!call->second.task->has_max_retries()) call->second.task->set_max_retries(actor.info.max_task_retries());
      done.emplace_back(std::move(call->second.task), std::move(*result.mutable_value()));
      actor.calls.erase(call);
    }
    actor.results_on_stream += static_cast<int64_t>(done.size());
    if (options_.testing_cut_stream_every > 0 && actor.results_on_stream >= options_.testing_cut_stream_every &&
        actor.stream != nullptr) {
      actor.results_on_stream = 0;
      actor.stream->Cancel();
    }
  }
  for (auto& [task, value] : done) callbacks_.on_result(*task, std::move(value), nullptr);
}

void ActorSubmitter::OnStreamDone(const ActorId& id, uint64_t epoch, const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  auto it = actors_.find(id);
  if (stopped_ || it == actors_.end() || it->second.stream_epoch != epoch) return;
  ActorState& actor = it->second;
  actor.stream = nullptr;
  if (actor.dead) return;
  spdlog::debug("the stream to actor {} ended: {}", id.ShortHex(), status.error_message());
  // Dead, restarting, or only the connection cut: the GCS says which (it hears of a dead
  // process from its raylet); no news within the wait means the same process, reconnect.
  PollLocked(actor, options_.reconnect_wait_ms);
}

// ---- plumbing ----

void ActorSubmitter::FailAllLocked(ActorState& actor, const rpc::ErrorInfo& error, Failed& failed) {
  for (auto& [sequence, call] : actor.calls) failed.emplace_back(*call.task, error);
  actor.calls.clear();
}

void ActorSubmitter::Report(Failed& failed) {
  for (auto& [task, error] : failed) callbacks_.on_failed(task, error);
}


void ActorSubmitter::Stop() {
  Failed failed;
  std::vector<std::shared_ptr<WorkerStream>> streams;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [id, actor] : actors_) {
      FailAllLocked(actor, ActorShutdownErrorInfo(), failed);
      if (actor.stream != nullptr) streams.push_back(std::move(actor.stream));
    }
  }
  Report(failed);
  for (auto& stream : streams) stream->Cancel();
  streams.clear();
  streams_.WaitForNone();
}

}  // namespace orrery::core
