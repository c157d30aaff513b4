#include "src/gcs/gcs_actor_manager.h"

#include <algorithm>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "src/common/clock.h"
#include "src/common/log.h"
#include "src/common/resource_set.h"
#include "src/common/status.h"

namespace orrery::gcs {

namespace {

constexpr int64_t kRetryDelayMs = 500;

// The placement group the actor lives in, if any.
std::optional<PlacementGroupId> GroupOf(const rpc::ActorInfo& actor) { return GroupOfDemand(actor.resources().quantities()); }
// A constructor may run for a long time; the call ends sooner if the worker dies.
constexpr int64_t kCreateTimeoutMs = 24LL * 3600 * 1000;

const char* ActorStateName(rpc::ActorInfo::State state) { return rpc::ActorInfo::State_Name(state).c_str(); }

bool CanRestart(const rpc::ActorInfo& info) {
  return info.max_restarts() < 0 || info.num_restarts() < info.max_restarts();
}

}  // namespace

GcsActorManager::GcsActorManager(boost::asio::io_context& io, StoreClient& store, GcsNodeManager& nodes,
                                 RayletFactory raylets, Options options)
    : io_(io),
      table_(store, kActorTable),
      nodes_(nodes),
      raylets_(std::move(raylets)),
      options_(std::move(options)),
      holder_id_(options_.holder_id),
      dead_history_(options_.max_dead_actors) {}

GcsActorManager::~GcsActorManager() { Stop(); }

GcsActorManager::Actor* GcsActorManager::Find(const std::string& binary_id) {
  auto id = ActorId::FromBinary(binary_id);
  if (!id.ok()) return nullptr;
  auto it = actors_.find(*id);
  return it == actors_.end() ? nullptr : &it->second;
}

// ---- restore after a GCS restart ----

void GcsActorManager::Load(std::function<void(absl::Status)> done) {
  table_.GetAll([this, done = std::move(done)](absl::StatusOr<absl::flat_hash_map<std::string, rpc::ActorInfo>> rows) {
    if (!rows.ok()) return done(rows.status());
    std::vector<std::pair<int64_t, ActorId>> dead;
    for (auto& [key, info] : *rows) {
      auto id = ActorId::FromBinary(info.actor_id());
      if (id.ok() && info.state() == rpc::ActorInfo::DEAD) dead.emplace_back(info.end_time_ms(), *id);
      Restore(std::move(info));
    }
    for (const ActorId& evicted : dead_history_.Restore(std::move(dead))) Forget(evicted);
    if (!rows->empty()) {
      spdlog::info("restored {} actors ({} to schedule again)", rows->size(), awaiting_reconcile_.size());
    }
    done(absl::OkStatus());
  });
}

void GcsActorManager::Restore(rpc::ActorInfo info) {
  auto id = ActorId::FromBinary(info.actor_id());
  if (!id.ok()) return;
  Actor& actor = actors_[*id];
  actor.info = std::move(info);
  if (actor.info.state() == rpc::ActorInfo::DEAD) return;
  if (!actor.info.name().empty()) names_[std::make_pair(actor.info.name_space(), actor.info.name())] = *id;
  if (actor.info.state() != rpc::ActorInfo::ALIVE) {
    awaiting_reconcile_.push_back(*id);
    return;
  }
  // ALIVE: its worker runs on, under the lease a predecessor took.
  actor.lease_id = LeaseId::FromOptionalBinary(actor.info.lease_id()).value_or(LeaseId());
  actor.lease_granted = true;
  actor.worker = WorkerId::FromOptionalBinary(actor.info.address().worker_id()).value_or(WorkerId());
  actor.node = NodeId::FromOptionalBinary(actor.info.address().node_id()).value_or(NodeId());
  by_worker_[actor.worker] = *id;
  unconfirmed_[*id] = actor.generation;
  if (const rpc::NodeInfo* node = nodes_.GetAliveNode(actor.node); node != nullptr) {
    actor.raylet = RayletAt(*node);
  }
}

rpc::ReleaseLeasesOfHolderRequest GcsActorManager::ReleaseUnusedLeasesRequest() const {
  rpc::ReleaseLeasesOfHolderRequest request;
  request.set_reason("the GCS that leased it for an actor restarted, and no actor it knows uses it");
  for (const auto& [id, actor] : actors_) {
    if (actor.info.state() == rpc::ActorInfo::ALIVE && !actor.lease_id.IsNil()) {
      request.add_keep_lease_ids(actor.lease_id.Binary());
    }
  }
  return request;
}

void GcsActorManager::Reconcile(std::vector<WorkerId> earlier_holders, std::function<void(bool)> done) {
  earlier_holders_ = earlier_holders;
  std::vector<std::shared_ptr<raylet::RayletClient>> raylets;
  for (const rpc::NodeInfo& node : nodes_.AllNodes()) {
    if (node.state() == rpc::NodeInfo::ALIVE) {
      raylets.push_back(RayletAt(node));
    }
  }
  // Every (raylet, holder) answers once; a raylet that cannot be reached within the retry
  // budget is dead or dying (the health checker says so), and its leases go with it.
  auto remaining = std::make_shared<size_t>(raylets.size() * earlier_holders.size());
  auto all_released = std::make_shared<bool>(true);
  auto finish = [this, all_released, done = std::move(done)] {
    std::vector<ActorId> waiting = std::move(awaiting_reconcile_);
    awaiting_reconcile_.clear();
    for (const ActorId& id : waiting) {
      auto it = actors_.find(id);
      if (it == actors_.end() || it->second.info.state() == rpc::ActorInfo::DEAD ||
          it->second.info.state() == rpc::ActorInfo::ALIVE) {
        continue;
      }
      spdlog::info("actor {} was being created when the GCS restarted: scheduling it again", id.ShortHex());
      Schedule(it->second);
    }
    done(*all_released);
  };
  if (*remaining == 0) return finish();
  rpc::ReleaseLeasesOfHolderRequest request = ReleaseUnusedLeasesRequest();
  for (const WorkerId& holder : earlier_holders) {
    request.set_holder_id(holder.Binary());
    for (const auto& raylet : raylets) {
      raylet->ReleaseLeasesOfHolder(request, [remaining, all_released, finish](
                                                 absl::StatusOr<rpc::ReleaseLeasesOfHolderReply> reply) {
        if (!reply.ok()) {
          *all_released = false;
          spdlog::warn("freeing a predecessor's actor leases: {}", reply.status().message());
        } else if (reply->released() > 0) {
          spdlog::info("a raylet freed {} actor leases a predecessor left", reply->released());
        }
        if (--*remaining == 0) finish();
      });
    }
  }
}

void GcsActorManager::OnNodeReported(const NodeId& node_id, const rpc::HostedState& hosted) {
  absl::flat_hash_set<std::string> leases;
  absl::flat_hash_set<WorkerId> holders;
  for (const rpc::HostedLease& lease : hosted.leases()) {
    leases.insert(lease.lease_id());
    if (auto holder = WorkerId::FromBinary(lease.holder_id()); holder.ok()) holders.insert(*holder);
  }
  std::vector<ActorId> gone;
  for (auto it = unconfirmed_.begin(); it != unconfirmed_.end();) {
    auto actor = actors_.find(it->first);
    bool current = actor != actors_.end() && actor->second.generation == it->second &&
                   actor->second.info.state() == rpc::ActorInfo::ALIVE;
    if (current && actor->second.node != node_id) {
      ++it;
      continue;
    }
    if (current && !leases.contains(actor->second.lease_id.Binary())) gone.push_back(it->first);
    unconfirmed_.erase(it++);
  }
  for (const ActorId& id : gone) {
    Actor& actor = actors_.at(id);
    rpc::WorkerDeath death;
    death.set_worker_id(actor.worker.Binary());
    death.set_node_id(node_id.Binary());
    death.set_pid(actor.info.pid());
    death.set_detail("it was gone when its node registered again with the restarted GCS");
    OnWorkerDeath(death);
  }
  // Leases an earlier GCS took that no actor here uses: nobody holds them now.
  const rpc::NodeInfo* node = nodes_.GetAliveNode(node_id);
  if (node == nullptr) return;
  std::shared_ptr<raylet::RayletClient> raylet = RayletAt(*node);
  std::optional<rpc::ReleaseLeasesOfHolderRequest> request;
  for (const WorkerId& holder : earlier_holders_) {
    if (!holders.contains(holder)) continue;
    if (!request.has_value()) request = ReleaseUnusedLeasesRequest();
    request->set_holder_id(holder.Binary());
    raylet->ReleaseLeasesOfHolder(*request, [node_id](absl::StatusOr<rpc::ReleaseLeasesOfHolderReply> reply) {
      if (!reply.ok()) {
        spdlog::warn("freeing a predecessor's actor leases on node {}: {}", node_id.ShortHex(),
                     reply.status().message());
      } else if (reply->released() > 0) {
        spdlog::info("node {} freed {} actor leases a predecessor left", node_id.ShortHex(), reply->released());
      }
    });
  }
}

// ---- requests ----

void GcsActorManager::HandleRegisterActor(const rpc::RegisterActorRequest& request, rpc::RegisterActorReply* reply,
                                          ReplyCallback done) {
  const rpc::ActorInfo& info = request.actor();
  auto id = ActorId::FromBinary(info.actor_id());
  if (!id.ok()) return done(Annotate(id.status(), "RegisterActor"));
  if (auto job = JobId::FromBinary(info.job_id()); !job.ok()) return done(Annotate(job.status(), "RegisterActor"));
  if (actors_.contains(*id)) return done(absl::OkStatus());  // a retried registration
  if (stopped_) return done(absl::UnavailableError("the GCS is stopping"));
  if (!info.name().empty()) {
    auto key = std::make_pair(info.name_space(), info.name());
    if (names_.contains(key)) {
      return done(absl::AlreadyExistsError(absl::StrCat("an actor named '", info.name(), "' already exists in namespace '",
                                                        info.name_space(), "'")));
    }
    names_[key] = *id;
  }
  Actor& actor = actors_[*id];
  actor.info = info;
  actor.info.set_state(rpc::ActorInfo::PENDING_CREATION);
  actor.info.set_version(0);
  actor.info.set_num_restarts(0);
  actor.info.set_start_time_ms(NowMs());
  spdlog::info("actor {} ({}) registered{}", id->ShortHex(), info.creation().function_name(),
               info.name().empty() ? "" : " as " + info.name());
  Changed(actor, [done = std::move(done)](absl::Status stored) {
    done(stored.ok() ? stored : Annotate(stored, "storing the actor"));
  });
  Schedule(actor);
}

void GcsActorManager::HandleGetActorInfo(const rpc::GetActorInfoRequest& request, rpc::GetActorInfoReply* reply,
                                         ReplyCallback done) {
  Actor* actor = Find(request.actor_id());
  if (actor == nullptr) {
    reply->set_found(false);
    return done(absl::OkStatus());
  }
  auto poll = std::make_shared<Poll>();
  poll->after_version = request.after_version();
  poll->reply = reply;
  poll->done = std::move(done);
  if (actor->info.version() > request.after_version() || request.wait_ms() <= 0 || stopped_) {
    return Answer(*actor, poll);
  }
  poll->timer = std::make_shared<boost::asio::steady_timer>(
      io_, std::chrono::milliseconds(std::min(request.wait_ms(), options_.max_poll_ms)));
  actor->polls.push_back(poll);
  ActorId id = ActorId::FromBinary(request.actor_id()).value();
  poll->timer->async_wait([this, id, weak = std::weak_ptr<Poll>(poll)](const boost::system::error_code& ec) {
    auto poll = weak.lock();
    auto it = actors_.find(id);
    if (ec || poll == nullptr || it == actors_.end()) return;
    Answer(it->second, poll);
  });
}

void GcsActorManager::Answer(Actor& actor, const std::shared_ptr<Poll>& poll) {
  auto& polls = actor.polls;
  polls.erase(std::remove(polls.begin(), polls.end(), poll), polls.end());
  if (poll->timer) poll->timer->cancel();
  if (!poll->done) return;
  poll->reply->set_found(true);
  *poll->reply->mutable_actor() = actor.info;
  std::exchange(poll->done, nullptr)(absl::OkStatus());
}

void GcsActorManager::HandleGetNamedActor(const rpc::GetNamedActorRequest& request, rpc::GetNamedActorReply* reply,
                                          ReplyCallback done) {
  auto it = names_.find(std::make_pair(request.name_space(), request.name()));
  reply->set_found(false);
  if (it != names_.end()) {
    const Actor& actor = actors_.at(it->second);
    reply->set_found(true);
    *reply->mutable_actor() = actor.info;
  }
  done(absl::OkStatus());
}

void GcsActorManager::HandleListActors(const rpc::ListActorsRequest& request, rpc::ListActorsReply* reply,
                                       ReplyCallback done) {
  for (const auto& [id, actor] : actors_) {
    if (!request.job_id().empty() && actor.info.job_id() != request.job_id()) continue;
    *reply->add_actors() = actor.info;
  }
  done(absl::OkStatus());
}

void GcsActorManager::HandleKillActor(const rpc::KillActorRequest& request, rpc::KillActorReply* reply,
                                      ReplyCallback done) {
  Actor* actor = Find(request.actor_id());
  if (actor == nullptr) {
    return done(absl::NotFoundError("no actor " + ActorId::FromOptionalBinary(request.actor_id()).value_or(ActorId()).Hex()));
  }
  Kill(*actor, request);
  // Answered once what the kill changed is stored: a restarted GCS does not bring it back.
  table_.AfterEarlierWrites([done = std::move(done)](absl::Status) { done(absl::OkStatus()); });
}

void GcsActorManager::Kill(Actor& actor, const rpc::KillActorRequest& request) {
  rpc::ActorInfo& info = actor.info;
  if (info.state() == rpc::ActorInfo::DEAD) return;
  // Named and detached actors live until killed: the last handle going away does not end them.
  if (request.out_of_scope() && (!info.name().empty() || info.detached())) return;
  auto cause = request.cause() == rpc::ActorInfo::DEATH_CAUSE_UNSPECIFIED ? rpc::ActorInfo::KILLED : request.cause();
  std::string message = request.message().empty() ? "the actor was killed" : request.message();
  if (request.no_restart() || actor.worker.IsNil()) {
    if (!request.no_restart() && CanRestart(info)) {
      // Not running yet: it is being (re)created already, which is what a restart would do.
      return;
    }
    return MarkDead(actor, cause, message);
  }
  // Kill(false): end the process and restart while the budget allows (the raylet does not
  // report a death it was asked for).
  WorkerId worker = actor.worker;
  ReleaseWorker(actor, message);
  OnProcessDied(actor, cause, message);
  KillOwnedBy(worker, "the actor's owner, an actor, was killed");
}

// ---- scheduling ----

std::shared_ptr<raylet::RayletClient> GcsActorManager::RayletFor(const NodeId& node_id) {
  const rpc::NodeInfo* node = nodes_.GetAliveNode(node_id);
  if (node == nullptr) {
    for (const rpc::NodeInfo& candidate : nodes_.AllNodes()) {
      if (candidate.state() == rpc::NodeInfo::ALIVE) {
        node = nodes_.GetAliveNode(NodeId::FromBinary(candidate.node_id()).value());
        break;
      }
    }
  }
  if (node == nullptr) return nullptr;
  return RayletAt(*node);
}

std::shared_ptr<raylet::RayletClient> GcsActorManager::RayletAt(const rpc::NodeInfo& node) {
  return raylets_(absl::StrCat(node.node_ip(), ":", node.node_manager_port()));
}

void GcsActorManager::Schedule(Actor& actor) {
  if (stopped_) return;
  // Its placement group was removed before it could be placed (by another process, maybe):
  // no node will ever hold it.
  if (std::optional<PlacementGroupId> group = GroupOf(actor.info); group.has_value() && group_removed_ &&
                                                                    group_removed_(*group)) {
    return MarkDead(actor, rpc::ActorInfo::KILLED, "its placement group " + group->Hex() + " was removed");
  }
  ++actor.generation;
  actor.lease_id = LeaseId::FromRandom();
  actor.lease_granted = false;
  actor.worker = WorkerId::Nil();
  actor.node = NodeId::Nil();
  ActorId id = ActorId::FromBinary(actor.info.actor_id()).value();
  auto raylet = RayletFor(NodeId::FromOptionalBinary(actor.info.owner().node_id()).value_or(NodeId()));
  if (raylet == nullptr) return RetryLater(id, actor.generation);
  actor.raylet = raylet;
  actor.lease_node = NodeId::Nil();
  // Stored with the actor once ALIVE, so that a restarted GCS can return it. A lease asked for
  // but not yet stored is held by this GCS instance: a successor frees it (Reconcile).
  actor.info.set_lease_id(actor.lease_id.Binary());
  RequestLease(id, actor.generation, raylet);
}

void GcsActorManager::RetryLater(const ActorId& id, uint64_t generation) {
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::milliseconds(kRetryDelayMs));
  timer->async_wait([this, id, generation, timer](const boost::system::error_code& ec) {
    auto it = actors_.find(id);
    if (ec || stopped_ || it == actors_.end() || it->second.generation != generation) return;
    Schedule(it->second);
  });
}

void GcsActorManager::RequestLease(const ActorId& id, uint64_t generation,
                                   std::shared_ptr<raylet::RayletClient> raylet) {
  const Actor& actor = actors_.at(id);
  rpc::RequestWorkerLeaseRequest request;
  rpc::LeaseSpec* lease = request.mutable_lease();
  lease->set_lease_id(actor.lease_id.Binary());
  lease->set_job_id(actor.info.job_id());
  lease->set_is_actor_worker(true);
  if (actor.info.resources().quantities().empty()) {
    // Placed where a CPU is free, holding nothing once there (Ray's rule for actors).
    ResourceSet::FromDoubles({{"CPU", 1}}).value().ToProto(lease->mutable_resources());
    lease->set_placement_only(true);
  } else {
    *lease->mutable_resources() = actor.info.resources();
  }
  lease->mutable_holder()->set_worker_id(holder_id_.Binary());
  lease->set_spilled_back(!actor.lease_node.IsNil());
  *lease->mutable_strategy() = actor.info.creation().strategy();
  *lease->mutable_env_vars() = actor.info.creation().env_vars();
  request.set_wait_ms(options_.lease_wait_ms);
  raylet->RequestWorkerLease(request, [this, id, generation, raylet, lease_id = actor.lease_id](
                                          absl::StatusOr<rpc::RequestWorkerLeaseReply> reply) {
    OnLeaseReply(id, generation, lease_id, raylet, std::move(reply));
  });
}

void GcsActorManager::OnLeaseReply(const ActorId& id, uint64_t generation, const LeaseId& lease_id,
                                   const std::shared_ptr<raylet::RayletClient>& raylet,
                                   absl::StatusOr<rpc::RequestWorkerLeaseReply> reply) {
  auto it = actors_.find(id);
  bool current = !stopped_ && it != actors_.end() && it->second.generation == generation;
  if (!current) {
    // Dead or rescheduled meanwhile: a worker granted now is not wanted. It is returned under
    // the lease it was granted for (the actor may hold a newer one by now).
    if (reply.ok() && reply->result() == rpc::RequestWorkerLeaseReply::GRANTED) {
      rpc::ReturnWorkerRequest back;
      back.set_lease_id(lease_id.Binary());
      back.set_kill_worker(true);
      raylet->ReturnWorker(back, [](absl::StatusOr<rpc::ReturnWorkerReply>) {});
    }
    return;
  }
  Actor& actor = it->second;
  if (absl::IsFailedPrecondition(reply.status())) {
    // Its job finished, or the node refuses it for good: retrying would not help.
    return MarkDead(actor, rpc::ActorInfo::CREATION_FAILED,
                    absl::StrCat("the actor cannot be placed: ", reply.status().message()));
  }
  if (!reply.ok()) {
    spdlog::warn("leasing a worker for actor {}: {}", id.ShortHex(), reply.status().message());
    return RetryLater(id, generation);
  }
  switch (reply->result()) {
    case rpc::RequestWorkerLeaseReply::GRANTED:
      return CreateOn(actor, *reply);
    case rpc::RequestWorkerLeaseReply::UNSCHEDULABLE:
      // It can never be placed (a hard node affinity to a dead node): retrying would not help.
      return MarkDead(actor, rpc::ActorInfo::NODE_DIED,
                      absl::StrCat("the actor cannot be placed: ", reply->failure_message()));
    case rpc::RequestWorkerLeaseReply::RUNTIME_ENV_SETUP_FAILED:
      // The node it was sent to cannot set up the job's working_dir: its message says why.
      return MarkDead(actor, rpc::ActorInfo::CREATION_FAILED,
                      absl::StrCat("the actor's runtime environment could not be set up: ", reply->failure_message()));
    case rpc::RequestWorkerLeaseReply::PENDING:
      // Still queued (no room yet, or no node can ever hold it): ask again under the same id.
      return RequestLease(id, generation, raylet);
    case rpc::RequestWorkerLeaseReply::SPILLBACK: {
      NodeId target = NodeId::FromOptionalBinary(reply->spillback_node().node_id()).value_or(NodeId());
      if (nodes_.GetAliveNode(target) == nullptr) {
        // The raylet's view still had a node this GCS has declared dead: ask again shortly.
        return RetryLater(id, generation);
      }
      actor.raylet = raylets_(absl::StrCat(reply->spillback_node().ip(), ":", reply->spillback_node().port()));
      actor.lease_node = target;
      return RequestLease(id, generation, actor.raylet);
    }
    default:
      return Schedule(actor);
  }
}

GcsActorManager::WorkerClient& GcsActorManager::ClientFor(const rpc::WorkerAddress& address) {
  std::string target = absl::StrCat(address.ip(), ":", address.port());
  auto& [worker_id, client] = worker_clients_[target];
  if (client != nullptr && worker_id != address.worker_id()) {
    // A new worker on a dead one's port: a fresh channel (the old one may be backing off). The
    // old client goes later, on the loop, not inside whatever callback brought us here.
    boost::asio::post(io_, [old = std::shared_ptr<WorkerClient>(std::move(client))] {});
  }
  if (client == nullptr) {
    worker_id = address.worker_id();
    client = std::make_unique<WorkerClient>(
        rpc::MakeChannel(target, options_.rpc, options_.token),
        rpc::ClientOptions{"actor worker at " + target, options_.token, options_.rpc,
                           [this](std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }});
  }
  return *client;
}

void GcsActorManager::CreateOn(Actor& actor, const rpc::RequestWorkerLeaseReply& grant) {
  ActorId id = ActorId::FromBinary(actor.info.actor_id()).value();
  actor.lease_granted = true;
  actor.worker = WorkerId::FromBinary(grant.worker().worker_id()).value_or(WorkerId());
  actor.node = NodeId::FromBinary(grant.worker().node_id()).value_or(NodeId());
  by_worker_[actor.worker] = id;
  *actor.info.mutable_address() = grant.worker();
  actor.info.set_pid(grant.worker_pid());

  rpc::CreateActorRequest request;
  *request.mutable_creation() = actor.info.creation();
  request.mutable_creation()->set_actor_id(actor.info.actor_id());
  request.set_max_concurrency(std::max(1, actor.info.max_concurrency()));
  request.set_num_restarts(actor.info.num_restarts());
  rpc::CallOptions call;
  call.timeout_ms = kCreateTimeoutMs;
  // The worker has just registered, so it is up; a connection attempt that fails under load
  // is tried again rather than taken for its death (a real death is reported by its raylet).
  call.wait_for_ready = true;
  // A lost reply is asked again: the worker answers a repeat with its first creation's outcome.
  call.retry = true;
  uint64_t generation = actor.generation;
  ClientFor(grant.worker())
      .Call(&rpc::CoreWorkerService::Stub::async::CreateActor, request, call,
            [this, id, generation](absl::StatusOr<rpc::CreateActorReply> reply) {
              OnCreated(id, generation, std::move(reply));
            });
}

void GcsActorManager::OnCreated(const ActorId& id, uint64_t generation, absl::StatusOr<rpc::CreateActorReply> reply) {
  auto it = actors_.find(id);
  if (stopped_ || it == actors_.end() || it->second.generation != generation) return;
  Actor& actor = it->second;
  if (!reply.ok()) {
    // The worker died while constructing (its death report may come first or later).
    return OnProcessDied(actor, rpc::ActorInfo::PROCESS_DIED,
                         absl::StrCat("the actor's process died while it was being created: ", reply.status().message()));
  }
  if (reply->failed()) {
    return MarkDead(actor, rpc::ActorInfo::CREATION_FAILED,
                    absl::StrCat("the actor's constructor failed: ", reply->error().message()));
  }
  actor.info.set_state(rpc::ActorInfo::ALIVE);
  spdlog::info("actor {} alive on worker {} (pid {})", id.ShortHex(), actor.worker.ShortHex(), actor.info.pid());
  Changed(actor);
}

// ---- deaths ----

void GcsActorManager::OnProcessDied(Actor& actor, rpc::ActorInfo::DeathCause cause, const std::string& message) {
  if (actor.info.state() == rpc::ActorInfo::DEAD) return;
  by_worker_.erase(actor.worker);
  if (!CanRestart(actor.info)) return MarkDead(actor, cause, message);
  actor.info.set_num_restarts(actor.info.num_restarts() + 1);
  actor.info.set_state(rpc::ActorInfo::RESTARTING);
  actor.info.clear_address();
  actor.info.set_pid(0);
  spdlog::info("actor {} restarting ({} of {}): {}", ActorId::FromBinary(actor.info.actor_id()).value().ShortHex(),
               actor.info.num_restarts(), actor.info.max_restarts(), message);
  Changed(actor);
  Schedule(actor);
}

void GcsActorManager::MarkDead(Actor& actor, rpc::ActorInfo::DeathCause cause, const std::string& message) {
  if (actor.info.state() == rpc::ActorInfo::DEAD) return;
  ActorId id = ActorId::FromBinary(actor.info.actor_id()).value();
  ReleaseWorker(actor, message);
  ++actor.generation;
  by_worker_.erase(actor.worker);
  actor.info.set_state(rpc::ActorInfo::DEAD);
  actor.info.set_death_cause(cause);
  actor.info.set_death_message(message);
  actor.info.set_end_time_ms(NowMs());
  if (!actor.info.name().empty()) {
    auto name = names_.find(std::make_pair(actor.info.name_space(), actor.info.name()));
    if (name != names_.end() && name->second == id) names_.erase(name);
  }
  spdlog::info("actor {} is dead ({}): {}", id.ShortHex(), rpc::ActorInfo::DeathCause_Name(cause), message);
  // Once its death is stored (and its watchers told), the oldest dead actors past the bound go.
  Changed(actor, [this, id](absl::Status) {
    for (const ActorId& evicted : dead_history_.Add(id)) Forget(evicted);
  });
  // Its process is ended here, and the raylet does not report a death it was asked for.
  KillOwnedBy(actor.worker, "the actor's owner, an actor, is dead");
}

void GcsActorManager::Forget(const ActorId& dead) {
  actors_.erase(dead);
  table_.Delete(dead.Binary(), [](absl::Status) {});
}

void GcsActorManager::ReleaseWorker(Actor& actor, const std::string& reason) {
  if (actor.raylet == nullptr || actor.lease_id.IsNil()) return;
  if (actor.lease_granted) {
    rpc::ReturnWorkerRequest request;
    request.set_lease_id(actor.lease_id.Binary());
    request.set_kill_worker(true);
    request.set_reason(reason);
    actor.raylet->ReturnWorker(request, [](absl::StatusOr<rpc::ReturnWorkerReply> reply) {
      if (!reply.ok()) spdlog::debug("returning an actor's worker: {}", reply.status().message());
    });
  } else {
    rpc::CancelWorkerLeaseRequest request;
    request.set_lease_id(actor.lease_id.Binary());
    actor.raylet->CancelWorkerLease(request, [](absl::StatusOr<rpc::CancelWorkerLeaseReply>) {});
  }
  actor.lease_granted = false;
}

void GcsActorManager::OnWorkerDeath(const rpc::WorkerDeath& death) {
  auto worker = WorkerId::FromBinary(death.worker_id());
  if (!worker.ok()) return;
  if (auto it = by_worker_.find(*worker); it != by_worker_.end()) {
    Actor& actor = actors_.at(it->second);
    if (actor.worker == *worker) {
      // The raylet ended the lease with the worker.
      actor.lease_granted = false;
      OnProcessDied(actor, rpc::ActorInfo::PROCESS_DIED,
                    absl::StrCat("the actor's process (pid ", death.pid(), ") died: ", death.detail()));
    }
  }
  KillOwnedBy(*worker, absl::StrCat("the actor's owner (pid ", death.pid(), ") died: ", death.detail()));
}

void GcsActorManager::KillOwnedBy(const WorkerId& owner, const std::string& message) {
  if (owner.IsNil()) return;
  std::vector<ActorId> owned;
  for (const auto& [id, actor] : actors_) {
    if (actor.info.owner().worker_id() == owner.Binary() && !actor.info.detached() &&
        actor.info.state() != rpc::ActorInfo::DEAD) {
      owned.push_back(id);
    }
  }
  for (const ActorId& id : owned) MarkDead(actors_.at(id), rpc::ActorInfo::OWNER_DIED, message);
}

void GcsActorManager::OnNodeDead(const NodeId& node_id) {
  std::vector<ActorId> hosted, owned;
  for (const auto& [id, actor] : actors_) {
    if (actor.info.state() == rpc::ActorInfo::DEAD) continue;
    if (actor.info.owner().node_id() == node_id.Binary() && !actor.info.detached()) {
      owned.push_back(id);
    } else if (actor.node == node_id) {
      hosted.push_back(id);
    }
  }
  for (const ActorId& id : owned) {
    MarkDead(actors_.at(id), rpc::ActorInfo::OWNER_DIED, "the node of the actor's owner died");
  }
  for (const ActorId& id : hosted) {
    Actor& actor = actors_.at(id);
    actor.lease_granted = false;
    actor.raylet = nullptr;
    OnProcessDied(actor, rpc::ActorInfo::NODE_DIED, "the actor's node " + node_id.Hex() + " died");
  }
  // Actors whose lease request waits at that node (sent there by spillback): ask again.
  for (auto& [id, actor] : actors_) {
    if (actor.info.state() != rpc::ActorInfo::DEAD && !actor.lease_granted && actor.lease_node == node_id) {
      actor.raylet = nullptr;
      Schedule(actor);
    }
  }
}

void GcsActorManager::OnJobFinished(const JobId& job_id) {
  std::vector<ActorId> ended;
  for (const auto& [id, actor] : actors_) {
    if (actor.info.job_id() == job_id.Binary() && !actor.info.detached() &&
        actor.info.state() != rpc::ActorInfo::DEAD) {
      ended.push_back(id);
    }
  }
  for (const ActorId& id : ended) MarkDead(actors_.at(id), rpc::ActorInfo::OWNER_DIED, "the actor's job ended");
}

void GcsActorManager::OnPlacementGroupRemoved(const PlacementGroupId& group_id) {
  std::vector<ActorId> ended;
  for (const auto& [id, actor] : actors_) {
    if (actor.info.state() != rpc::ActorInfo::DEAD && GroupOf(actor.info) == group_id) ended.push_back(id);
  }
  for (const ActorId& id : ended) {
    MarkDead(actors_.at(id), rpc::ActorInfo::KILLED, "its placement group " + group_id.Hex() + " was removed");
  }
}

// ---- changes ----

void GcsActorManager::Changed(Actor& actor, std::function<void(absl::Status)> stored) {
  // Versions rise across GCS instances too, a restore from an older backup included (whose
  // stored versions are below what watchers saw since, and who ignore older ones): each is at
  // least the wall-clock time in microseconds.
  actor.info.set_version(std::max(actor.info.version() + 1, NowMs() * 1000));
  ActorId id = ActorId::FromBinary(actor.info.actor_id()).value();
  spdlog::debug("actor {} is {} (version {})", id.ShortHex(), ActorStateName(actor.info.state()), actor.info.version());
  // Watchers learn of the change once it is stored: what they act on survives a GCS restart.
  table_.Put(actor.info.actor_id(), actor.info, [this, id, stored = std::move(stored)](absl::Status status) {
    if (!status.ok()) spdlog::error("storing actor {}: {}", id.ShortHex(), status.message());
    if (stored) stored(status);
    auto it = actors_.find(id);
    if (it == actors_.end()) return;
    Actor& actor = it->second;
    std::vector<std::shared_ptr<Poll>> polls = actor.polls;
    for (const auto& poll : polls) {
      if (actor.info.version() > poll->after_version) Answer(actor, poll);
    }
  });
}

void GcsActorManager::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& [id, actor] : actors_) {
    std::vector<std::shared_ptr<Poll>> polls = actor.polls;
    for (const auto& poll : polls) Answer(actor, poll);
  }
}

}  // namespace orrery::gcs
