#include "src/raylet/lease_manager.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/common/clock.h"
#include "src/common/log.h"
#include "src/common/runtime_env.h"
#include "src/common/status.h"

namespace orrery::raylet {

LeaseManager::LeaseManager(boost::asio::io_context& io, Options options, NodeResources& resources, WorkerProvider& pool,
                           ClusterView& cluster, JobCheck check_job, JobCheck prepare_job)
    : io_(io),
      options_(std::move(options)),
      resources_(resources),
      pool_(pool),
      cluster_(cluster),
      check_job_(std::move(check_job)),
      prepare_job_(std::move(prepare_job)),
      sweep_timer_(io) {}

void LeaseManager::Start() { ScheduleSweep(); }

void LeaseManager::Stop() {
  stopped_ = true;
  sweep_timer_.cancel();
  for (auto& [id, lease] : leases_) Answer(*lease, absl::UnavailableError("the raylet is stopping"));
}

// ---- requests ----

absl::Status LeaseManager::Validate(const rpc::LeaseSpec& spec, ResourceSet* demand) const {
  auto lease_id = LeaseId::FromBinary(spec.lease_id());
  if (!lease_id.ok()) return Annotate(lease_id.status(), "lease_id");
  if (lease_id->IsNil()) return absl::InvalidArgumentError("lease_id is nil");
  auto job_id = JobId::FromBinary(spec.job_id());
  if (!job_id.ok()) return Annotate(job_id.status(), "job_id");
  if (job_id->IsNil()) return absl::InvalidArgumentError("job_id is nil");
  auto holder = WorkerId::FromBinary(spec.holder().worker_id());
  if (!holder.ok()) return Annotate(holder.status(), "holder.worker_id");
  if (auto node = NodeId::FromOptionalBinary(spec.holder().node_id()); !node.ok()) {
    return Annotate(node.status(), "holder.node_id");
  }
  auto resources = ResourceSet::FromProto(spec.resources());
  if (!resources.ok()) return resources.status();
  ORRERY_RETURN_IF_ERROR(NodeResources::ValidateDemand(*resources));
  if (spec.strategy().kind() == rpc::SchedulingStrategy::NODE_AFFINITY) {
    if (auto node = NodeId::FromBinary(spec.strategy().node_id()); !node.ok()) {
      return Annotate(node.status(), "strategy.node_id");
    }
  }
  for (const auto& [name, value] : spec.env_vars()) ORRERY_RETURN_IF_ERROR(ValidateEnvVarName(name));
  *demand = std::move(*resources);
  return absl::OkStatus();
}

void LeaseManager::RequestLease(const rpc::RequestWorkerLeaseRequest& request, rpc::RequestWorkerLeaseReply* reply,
                                rpc::ReplyCallback done) {
  if (stopped_) return done(absl::UnavailableError("the raylet is stopping"));
  ResourceSet demand;
  if (absl::Status status = Validate(request.lease(), &demand); !status.ok()) {
    return done(Annotate(status, "RequestWorkerLease"));
  }
  LeaseId id = LeaseId::FromBinary(request.lease().lease_id()).value();
  if (finished_.contains(id)) {
    // The lease was granted and returned, or cancelled: a late retry gets nothing new.
    reply->set_result(rpc::RequestWorkerLeaseReply::CANCELED);
    return done(absl::OkStatus());
  }
  if (auto it = leases_.find(id); it != leases_.end()) {
    Lease& lease = *it->second;
    if (lease.state == Lease::State::kGranted) {
      lease.detached_since_ms = 0;  // claimed
      FillGrant(lease, reply);
      return done(absl::OkStatus());
    }
    Attach(lease, reply, std::move(done), request);
    // Routes it now: a spillback or failure found while no call was open waited for this one.
    if (lease.state == Lease::State::kQueued) Dispatch();
    return;
  }
  JobId job_id = JobId::FromBinary(request.lease().job_id()).value();
  check_job_(job_id, [this, request, demand, reply, done = std::move(done)](absl::Status status) mutable {
    if (!status.ok()) return done(status);
    Enqueue(request, std::move(demand), reply, std::move(done));
  });
}

void LeaseManager::Enqueue(const rpc::RequestWorkerLeaseRequest& request, ResourceSet demand,
                           rpc::RequestWorkerLeaseReply* reply, rpc::ReplyCallback done) {
  LeaseId id = LeaseId::FromBinary(request.lease().lease_id()).value();
  // The job check was asynchronous: the same id may have arrived again meanwhile.
  if (finished_.contains(id)) {
    reply->set_result(rpc::RequestWorkerLeaseReply::CANCELED);
    return done(absl::OkStatus());
  }
  if (auto it = leases_.find(id); it != leases_.end()) {
    if (it->second->state == Lease::State::kGranted) {
      it->second->detached_since_ms = 0;  // claimed
      FillGrant(*it->second, reply);
      return done(absl::OkStatus());
    }
    return Attach(*it->second, reply, std::move(done), request);
  }
  auto lease = std::make_unique<Lease>();
  lease->id = id;
  lease->spec = request.lease();
  lease->demand = std::move(demand);
  lease->holder = WorkerId::FromBinary(request.lease().holder().worker_id()).value();
  lease->holder_node = NodeId::FromOptionalBinary(request.lease().holder().node_id()).value();
  lease->shape = Shape{request.lease().holder().worker_id(), lease->demand.ToString(),
                       request.lease().strategy().SerializeAsString(),
                       {request.lease().env_vars().begin(), request.lease().env_vars().end()}};
  Lease& ref = *lease;
  leases_[id] = std::move(lease);
  queue_.push_back(id);
  Attach(ref, reply, std::move(done), request);
  Dispatch();
  Changed();
}

void LeaseManager::Attach(Lease& lease, rpc::RequestWorkerLeaseReply* reply, rpc::ReplyCallback done,
                          const rpc::RequestWorkerLeaseRequest& request) {
  int64_t wait_ms = request.wait_ms();
  lease.answer_if_queued = request.answer_if_queued();
  // A newer call for the same lease replaces an older one still open.
  if (lease.done) AnswerPending(lease);
  lease.reply = reply;
  lease.done = std::move(done);
  lease.detached_since_ms = 0;
  int64_t wait = std::clamp<int64_t>(wait_ms, 0, options_.max_wait_ms);
  lease.wait_timer = std::make_unique<boost::asio::steady_timer>(io_, std::chrono::milliseconds(wait));
  LeaseId id = lease.id;
  lease.wait_timer->async_wait([this, id](const boost::system::error_code& ec) {
    if (ec) return;
    auto it = leases_.find(id);
    if (it != leases_.end() && it->second->done) AnswerPending(*it->second);
  });
}

void LeaseManager::AnswerPending(Lease& lease) {
  lease.reply->set_result(rpc::RequestWorkerLeaseReply::PENDING);
  lease.reply->set_infeasible(lease.infeasible);
  Answer(lease, absl::OkStatus());
}

void LeaseManager::AnswerFailure(Lease& lease, rpc::RequestWorkerLeaseReply::Result result, absl::string_view why) {
  if (!lease.done) return;
  lease.reply->set_result(result);
  lease.reply->set_failure_message(std::string(why));
  Answer(lease, absl::OkStatus());
}

void LeaseManager::AnswerIfQueued(Lease& lease) {
  if (!lease.answer_if_queued || !lease.done) return;
  lease.answer_if_queued = false;
  AnswerPending(lease);
}

void LeaseManager::Answer(Lease& lease, const absl::Status& status) {
  if (!lease.done) return;
  rpc::ReplyCallback done = std::move(lease.done);
  lease.done = nullptr;
  lease.reply = nullptr;
  if (lease.wait_timer) lease.wait_timer->cancel();
  // A grant sent is the holder's until it returns it, however long that is (an actor's lease
  // lasts its life): only a request still waiting, or a grant nobody came for, is ever abandoned.
  lease.detached_since_ms = lease.state == Lease::State::kGranted ? 0 : MonotonicMs();
  done(status);
}

void LeaseManager::FillGrant(const Lease& lease, rpc::RequestWorkerLeaseReply* reply) const {
  reply->set_result(rpc::RequestWorkerLeaseReply::GRANTED);
  rpc::WorkerAddress* address = reply->mutable_worker();
  address->set_worker_id(lease.worker->id.Binary());
  address->set_node_id(options_.node_id.Binary());
  address->set_ip(options_.node_ip);
  address->set_port(lease.worker->port);
  reply->set_worker_pid(lease.worker->pid);
  if (!lease.allocation) return;  // a placement-only lease holds nothing
  for (const auto& [resource, chosen] : lease.allocation->instances) {
    rpc::ResourceInstances* instances = reply->add_instances();
    instances->set_resource(resource);
    for (int id : lease.allocation->InstanceIds(resource)) instances->add_instance_ids(id);
  }
}

// ---- granting ----

WorkerKey LeaseManager::KeyFor(const Lease& lease) const {
  WorkerKey key;
  key.job_id = JobId::FromBinary(lease.spec.job_id()).value();
  key.env_vars = EnvVars(lease.spec.env_vars().begin(), lease.spec.env_vars().end());
  key.is_actor = lease.spec.is_actor_worker();
  std::vector<std::string> names;
  if (!lease.allocation) return key;  // a placement-only lease: no GPUs
  // Its GPUs, held directly or through a placement-group bundle.
  for (int index : lease.allocation->DevicesOf(kGpu)) {
    names.push_back(static_cast<size_t>(index) < options_.gpu_names.size() ? options_.gpu_names[index]
                                                                            : std::to_string(index));
  }
  key.gpu_ids = absl::StrJoin(names, ",");
  return key;
}

void LeaseManager::SpillBack(Lease& lease, const NodeId& target) {
  const rpc::NodeInfo* node = cluster_.Find(target);
  lease.reply->set_result(rpc::RequestWorkerLeaseReply::SPILLBACK);
  rpc::NodeAddress* address = lease.reply->mutable_spillback_node();
  address->set_node_id(node->node_id());
  address->set_ip(node->node_ip());
  address->set_port(node->node_manager_port());
  cluster_.NoteSent(target, lease.demand);
  Answer(lease, absl::OkStatus());
}

LeaseManager::Route LeaseManager::RouteOf(const Lease& lease, const std::vector<NodeSnapshot>& others) {
  const rpc::SchedulingStrategy& strategy = lease.spec.strategy();
  bool feasible_here = resources_.CheckFeasible(lease.demand).ok();
  if (strategy.kind() == rpc::SchedulingStrategy::NODE_AFFINITY) {
    NodeId target = NodeId::FromBinary(strategy.node_id()).value();  // validated on arrival
    if (target == options_.node_id) {
      if (feasible_here) return Route{Route::kHere};
      if (!strategy.soft()) return Route{Route::kWait, {}, {}, /*infeasible=*/true};
    } else if (cluster_.Find(target) != nullptr) {
      if (cluster_.CouldHold(target, lease.demand)) return Route{Route::kSpill, target};
      if (!strategy.soft()) return Route{Route::kWait, {}, {}, /*infeasible=*/true};
    } else if (!strategy.soft()) {
      return Route{Route::kFail, {},
                   absl::StrCat("node ", target.Hex(), " (named by a hard node affinity) is dead or unknown")};
    }
    // Soft, and that node cannot take it: placed as by default.
  }
  if (!feasible_here) {
    if (auto node = cluster_.FeasibleNode(lease.demand, options_.node_id); node.has_value()) {
      return Route{Route::kSpill, NodeId::FromBinary(node->node_id()).value()};
    }
    return Route{Route::kWait, {}, {}, /*infeasible=*/true};
  }
  // Sent here by another raylet, or no other node to choose: it stays.
  if (lease.spec.spilled_back() || others.empty()) return Route{Route::kHere};
  NodeSnapshot local{options_.node_id, resources_.total(), resources_.available()};
  NodeId target = strategy.kind() == rpc::SchedulingStrategy::SPREAD
                      ? PickSpread(lease.demand, local, others, spread_turn_++)
                      : PickNode(lease.demand, local, others, options_.spread_threshold);
  return target == options_.node_id ? Route{Route::kHere} : Route{Route::kSpill, target};
}

void LeaseManager::Dispatch() {
  if (stopped_) return;
  std::deque<LeaseId> still_queued;
  bool changed = false;
  // The other nodes as the policy sees them: once per pass, again after a spillback.
  std::vector<NodeSnapshot> others = cluster_.Snapshots(options_.node_id);
  for (const LeaseId& id : queue_) {
    auto it = leases_.find(id);
    if (it == leases_.end() || it->second->state != Lease::State::kQueued) continue;
    Lease& lease = *it->second;
    Route route = RouteOf(lease, others);
    // Spillback and failure are answers: a lease without an open call waits for its re-ask.
    if ((route.kind == Route::kSpill || route.kind == Route::kFail) && lease.done) {
      if (route.kind == Route::kSpill) {
        SpillBack(lease, route.target);
        others = cluster_.Snapshots(options_.node_id);  // the target now counts what was sent
      } else {
        AnswerFailure(lease, rpc::RequestWorkerLeaseReply::UNSCHEDULABLE, route.why);
      }
      leases_.erase(it);
      changed = true;
      continue;
    }
    lease.infeasible = route.infeasible;
    lease.waits_here = false;
    if (route.kind != Route::kHere) {
      AnswerIfQueued(lease);
      still_queued.push_back(id);
      continue;
    }
    std::optional<Allocation> allocation = resources_.Allocate(lease.demand);
    if (!allocation) {
      AnswerIfQueued(lease);
      still_queued.push_back(id);
      lease.waits_here = true;
      continue;
    }
    lease.allocation = std::move(allocation);
    // Placed where the resources are free now, it holds nothing while its worker starts or
    // after (an actor that names no resources), so many start at once.
    if (lease.spec.placement_only()) Release(lease);
    lease.state = Lease::State::kDispatched;
    changed = true;
    PopWorkerFor(lease);
  }
  queue_ = std::move(still_queued);
  AskToYield();
  if (changed) Changed();
}

namespace {
bool HoldsAnyOf(const ResourceSet& held, const ResourceSet& wanted) {
  for (const auto& [name, amount] : wanted.quantities()) {
    if (held.Get(name) > FixedPoint()) return true;
  }
  return false;
}
}  // namespace

void LeaseManager::AskToYield() {
  if (!options_.ask_to_yield) return;
  std::vector<const Lease*> waiting;
  for (const LeaseId& id : queue_) {
    auto it = leases_.find(id);
    if (it != leases_.end() && it->second->state == Lease::State::kQueued && it->second->waits_here) {
      waiting.push_back(it->second.get());
    }
  }
  if (waiting.empty()) return;
  std::map<WorkerId, std::pair<rpc::WorkerAddress, std::vector<LeaseId>>> asks;
  for (auto& [id, granted] : leases_) {
    Lease& lease = *granted;
    // Blocked workers lend their CPU already; actors and placement-only leases hold nothing
    // their holder keeps idle.
    if (lease.state != Lease::State::kGranted || lease.yield_asked || lease.lent || !lease.allocation ||
        lease.spec.is_actor_worker()) {
      continue;
    }
    bool helps = std::any_of(waiting.begin(), waiting.end(), [&lease](const Lease* other) {
      return other->shape != lease.shape && HoldsAnyOf(lease.allocation->resources, other->demand);
    });
    if (!helps) continue;
    lease.yield_asked = true;
    auto& ask = asks[lease.holder];
    ask.first = lease.spec.holder();
    ask.second.push_back(id);
  }
  for (auto& [holder, ask] : asks) options_.ask_to_yield(ask.first, std::move(ask.second));
}

void LeaseManager::PopWorkerFor(const Lease& lease) {
  auto pop = [this, id = lease.id, key = KeyFor(lease)](absl::Status prepared) {
    if (!prepared.ok()) return OnWorkerReady(id, prepared);
    pool_.PopWorker(key, [this, id](absl::StatusOr<std::shared_ptr<Worker>> worker) {
      OnWorkerReady(id, std::move(worker));
    });
  };
  if (!prepare_job_) return pop(absl::OkStatus());
  prepare_job_(JobId::FromBinary(lease.spec.job_id()).value(), std::move(pop));
}

void LeaseManager::OnWorkerReady(const LeaseId& lease_id, absl::StatusOr<std::shared_ptr<Worker>> worker) {
  auto it = leases_.find(lease_id);
  if (it == leases_.end() || it->second->state != Lease::State::kDispatched) {
    // Cancelled while the worker started: it goes back to the pool.
    if (worker.ok()) pool_.PushWorker(*worker);
    return;
  }
  Lease& lease = *it->second;
  if (!worker.ok()) {
    spdlog::warn("lease {} failed: {}", lease_id.ShortHex(), worker.status().message());
    if (IsRuntimeEnvSetupError(worker.status())) {
      AnswerFailure(lease, rpc::RequestWorkerLeaseReply::RUNTIME_ENV_SETUP_FAILED, worker.status().message());
    } else {
      Answer(lease, worker.status());
    }
    Release(lease);
    leases_.erase(it);
    Changed();
    Dispatch();
    return;
  }
  lease.worker = *worker;
  lease.state = Lease::State::kGranted;
  lease.worker->lease_id = lease_id;
  lease.worker->lease_holder = lease.holder;
  lease.grant_order = ++total_granted_;
  lease.granted_at_ms = MonotonicMs();
  if (lease.done) {
    FillGrant(lease, lease.reply);
    Answer(lease, absl::OkStatus());
  }
  AskToYield();
}

void LeaseManager::Release(Lease& lease) {
  if (lease.lent) {
    ResourceSet cpu;
    cpu.Set(kCpu, lease.allocation->resources.Get(kCpu));
    resources_.Reclaim(cpu);
    lease.lent = false;
    lent_cpus_ -= static_cast<int>(cpu.Get(kCpu).Ceil());
    pool_.SetLentCpus(lent_cpus_);
  }
  if (lease.allocation) resources_.Release(*lease.allocation);
  lease.allocation.reset();
}

void LeaseManager::Finish(const LeaseId& lease_id, bool dispatch) {
  auto it = leases_.find(lease_id);
  if (it == leases_.end()) return;
  if (it->second->done) {
    it->second->reply->set_result(rpc::RequestWorkerLeaseReply::CANCELED);
    Answer(*it->second, absl::OkStatus());
  }
  Release(*it->second);
  leases_.erase(it);
  if (finished_.insert(lease_id).second) finished_order_.push_back(lease_id);
  while (finished_order_.size() > options_.remembered_leases) {
    finished_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
  Changed();
  if (dispatch) Dispatch();
}

// ---- cancel, return, block ----

void LeaseManager::CancelLease(const rpc::CancelWorkerLeaseRequest& request, rpc::CancelWorkerLeaseReply* reply,
                               rpc::ReplyCallback done) {
  auto id = LeaseId::FromBinary(request.lease_id());
  if (!id.ok()) return done(Annotate(id.status(), "CancelWorkerLease"));
  auto it = leases_.find(*id);
  if (it == leases_.end()) {
    // Already cancelled (a retry), or never seen.
    reply->set_canceled(finished_.contains(*id));
    return done(absl::OkStatus());
  }
  Lease& lease = *it->second;
  if (lease.state == Lease::State::kGranted) {
    reply->set_already_granted(true);
    return done(absl::OkStatus());
  }
  if (lease.done) {
    lease.reply->set_result(rpc::RequestWorkerLeaseReply::CANCELED);
    Answer(lease, absl::OkStatus());
  }
  reply->set_canceled(true);
  Finish(*id);
  done(absl::OkStatus());
}

void LeaseManager::ReturnWorker(const rpc::ReturnWorkerRequest& request, rpc::ReturnWorkerReply* reply,
                                rpc::ReplyCallback done) {
  auto id = LeaseId::FromBinary(request.lease_id());
  if (!id.ok()) return done(Annotate(id.status(), "ReturnWorker"));
  auto it = leases_.find(*id);
  if (it == leases_.end() || it->second->state != Lease::State::kGranted) {
    if (finished_.contains(*id)) return done(absl::OkStatus());  // a retried return
    return done(absl::NotFoundError("no granted lease " + id->Hex()));
  }
  std::shared_ptr<Worker> worker = it->second->worker;
  if (request.kill_worker()) {
    pool_.KillWorker(worker, "its lease holder returned it as unusable" +
                                 (request.reason().empty() ? std::string() : ": " + request.reason()));
  } else {
    pool_.PushWorker(worker);
  }
  Finish(*id);
  done(absl::OkStatus());
}

absl::Status LeaseManager::SetBlocked(const WorkerId& worker_id, bool blocked) {
  std::shared_ptr<Worker> worker = pool_.Find(worker_id);
  if (worker == nullptr) return absl::NotFoundError("no worker " + worker_id.Hex() + " on this node");
  auto it = leases_.find(worker->lease_id);
  if (worker->lease_id.IsNil() || it == leases_.end()) {
    return absl::FailedPreconditionError("worker " + worker_id.Hex() + " holds no lease");
  }
  Lease& lease = *it->second;
  // A placement-only lease holds no CPU to lend.
  if (lease.lent == blocked || !lease.allocation) return absl::OkStatus();
  ResourceSet cpu;
  cpu.Set(kCpu, lease.allocation->resources.Get(kCpu));
  int count = static_cast<int>(cpu.Get(kCpu).Ceil());
  if (blocked) {
    resources_.Lend(cpu);
    lent_cpus_ += count;
  } else {
    resources_.Reclaim(cpu);
    lent_cpus_ -= count;
  }
  lease.lent = blocked;
  worker->blocked = blocked;
  pool_.SetLentCpus(lent_cpus_);
  Changed();
  if (blocked) Dispatch();
  return absl::OkStatus();
}

// ---- deaths ----

void LeaseManager::OnWorkerDied(const std::shared_ptr<Worker>& worker) {
  if (worker->lease_id.IsNil()) return;
  auto it = leases_.find(worker->lease_id);
  if (it == leases_.end()) return;
  Finish(worker->lease_id);
}

int LeaseManager::EndLeasesOfHolder(const WorkerId& holder, const absl::flat_hash_set<LeaseId>& keep,
                                    const std::string& reason) {
  std::vector<LeaseId> ids;
  for (const auto& [id, lease] : leases_) {
    if (lease->holder == holder && !keep.contains(id)) ids.push_back(id);
  }
  // End them all before granting anything: a doomed request must not take a freed CPU.
  for (const LeaseId& id : ids) {
    std::shared_ptr<Worker> worker = leases_[id]->worker;
    Finish(id, /*dispatch=*/false);
    // It may be running work for an owner that no longer exists.
    if (worker) pool_.KillWorker(worker, reason);
  }
  if (!ids.empty()) Dispatch();
  return static_cast<int>(ids.size());
}

void LeaseManager::OnHolderNodeDied(const NodeId& node) {
  absl::flat_hash_set<WorkerId> holders;
  for (const auto& [id, lease] : leases_) {
    if (lease->holder_node == node) holders.insert(lease->holder);
  }
  for (const WorkerId& holder : holders) OnHolderDied(holder);
}

void LeaseManager::OnJobFinished(const JobId& job) {
  std::vector<LeaseId> ids;
  for (const auto& [id, lease] : leases_) {
    if (lease->spec.job_id() == job.Binary()) ids.push_back(id);
  }
  for (const LeaseId& id : ids) {
    Lease& lease = *leases_[id];
    if (lease.done) {
      Answer(lease, absl::FailedPreconditionError("job " + job.Hex() + " has finished"));
    }
    Finish(id, /*dispatch=*/false);
  }
  if (!ids.empty()) Dispatch();
}

void LeaseManager::EndLeasesOfGroup(const PlacementGroupId& group) {
  std::vector<LeaseId> ids;
  for (const auto& [id, lease] : leases_) {
    for (const auto& [name, amount] : lease->demand.quantities()) {
      if (IsGroupResource(name, group)) {
        ids.push_back(id);
        break;
      }
    }
  }
  for (const LeaseId& id : ids) {
    Lease& lease = *leases_[id];
    AnswerFailure(lease, rpc::RequestWorkerLeaseReply::UNSCHEDULABLE, "placement group " + group.Hex() + " was removed");
    std::shared_ptr<Worker> worker = lease.worker;
    Finish(id, /*dispatch=*/false);
    if (worker) pool_.KillWorker(worker, "its placement group " + group.Hex() + " was removed");
  }
  if (!ids.empty()) Dispatch();
}

// ---- upkeep and reporting ----

void LeaseManager::ScheduleSweep() {
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    DropAbandoned();
    CheckHolders();
    ScheduleSweep();
  });
}

void LeaseManager::DropAbandoned() {
  int64_t now = MonotonicMs();
  std::vector<LeaseId> abandoned;
  for (const auto& [id, lease] : leases_) {
    if (lease->state == Lease::State::kDispatched || lease->done || lease->detached_since_ms == 0) continue;
    if (now - lease->detached_since_ms > options_.abandon_after_ms) abandoned.push_back(id);
  }
  for (const LeaseId& id : abandoned) {
    spdlog::info("dropping lease {}: its requester stopped asking{}", id.ShortHex(),
                 leases_[id]->worker ? " (its grant was never claimed)" : "");
    std::shared_ptr<Worker> worker = leases_[id]->worker;
    if (worker) pool_.PushWorker(worker);
    Finish(id);
  }
}

std::vector<rpc::ResourceDemand> LeaseManager::Demands() const {
  std::map<ResourceSet, rpc::ResourceDemand> by_shape;
  for (const auto& [id, lease] : leases_) {
    if (lease->state != Lease::State::kQueued) continue;
    rpc::ResourceDemand& demand = by_shape[lease->demand];
    if (demand.count() == 0) lease->demand.ToProto(demand.mutable_shape());
    demand.set_count(demand.count() + 1);
    demand.set_infeasible(demand.infeasible() || lease->infeasible);
  }
  std::vector<rpc::ResourceDemand> demands;
  for (auto& [shape, demand] : by_shape) demands.push_back(std::move(demand));
  return demands;
}

int LeaseManager::num_pending() const {
  int count = 0;
  for (const auto& [id, lease] : leases_) count += lease->state != Lease::State::kGranted;
  return count;
}

int LeaseManager::num_granted() const {
  int count = 0;
  for (const auto& [id, lease] : leases_) count += lease->state == Lease::State::kGranted;
  return count;
}

void LeaseManager::ReportGranted(rpc::HostedState* state) const {
  for (const auto& [id, lease] : leases_) {
    if (lease->state != Lease::State::kGranted || lease->worker == nullptr) continue;
    rpc::HostedLease* hosted = state->add_leases();
    hosted->set_lease_id(id.Binary());
    hosted->set_worker_id(lease->worker->id.Binary());
    hosted->set_holder_id(lease->holder.Binary());
  }
}

std::shared_ptr<Worker> LeaseManager::PickWorkerToKillForMemory() const {
  // Per holder: how many task leases it has here, and its newest one.
  struct Holder {
    int tasks = 0;
    const Lease* newest = nullptr;
  };
  absl::flat_hash_map<WorkerId, Holder> holders;
  const Lease* newest_actor = nullptr;
  for (const auto& [id, lease] : leases_) {
    if (lease->state != Lease::State::kGranted || lease->worker == nullptr ||
        lease->worker->state == Worker::State::kExiting) {
      continue;
    }
    if (lease->spec.is_actor_worker()) {
      if (newest_actor == nullptr || lease->grant_order > newest_actor->grant_order) newest_actor = lease.get();
      continue;
    }
    Holder& holder = holders[lease->holder];
    ++holder.tasks;
    if (holder.newest == nullptr || lease->grant_order > holder.newest->grant_order) holder.newest = lease.get();
  }
  const Holder* chosen = nullptr;
  for (const auto& [id, holder] : holders) {
    if (chosen == nullptr || holder.tasks > chosen->tasks ||
        (holder.tasks == chosen->tasks && holder.newest->grant_order > chosen->newest->grant_order)) {
      chosen = &holder;
    }
  }
  if (chosen != nullptr) return chosen->newest->worker;
  return newest_actor == nullptr ? nullptr : newest_actor->worker;
}

void LeaseManager::Changed() {
  if (on_change_) on_change_();
}

}  // namespace orrery::raylet
