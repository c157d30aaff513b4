#include "src/gcs/gcs_placement_group_manager.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "src/common/clock.h"
#include "src/common/log.h"
#include "src/common/status.h"
#include "src/gcs/bundle_placement.h"

namespace orrery::gcs {

std::string GcsPlacementGroupManager::NameKey(const std::string& name_space, const std::string& name) {
  return absl::StrCat(name_space, std::string(1, '\0'), name);
}

namespace {

std::string GroupStateName(rpc::PlacementGroupInfo::State state) { return rpc::PlacementGroupInfo::State_Name(state); }

absl::Status RemovedError(const PlacementGroupId& id) {
  return absl::FailedPreconditionError("placement group " + id.Hex() + " was removed");
}

absl::Status UnknownGroup(const std::string& binary_id) {
  auto id = PlacementGroupId::FromBinary(binary_id);
  if (!id.ok()) return Annotate(id.status(), "placement_group_id");
  return absl::NotFoundError("no placement group " + id->Hex());
}

}  // namespace

GcsPlacementGroupManager::GcsPlacementGroupManager(boost::asio::io_context& io, StoreClient& store,
                                                   GcsNodeManager& nodes, GcsResourceManager& resources,
                                                   BundleClientFactory bundle_clients, Options options)
    : io_(io),
      table_(store, kPlacementGroupTable),
      nodes_(nodes),
      resources_(resources),
      bundle_clients_(std::move(bundle_clients)),
      options_(options),
      retry_timer_(io) {}

// ---- requests ----

absl::Status GcsPlacementGroupManager::Validate(const rpc::PlacementGroupInfo& group) {
  auto id = PlacementGroupId::FromBinary(group.placement_group_id());
  if (!id.ok()) return Annotate(id.status(), "placement_group_id");
  if (id->IsNil()) return absl::InvalidArgumentError("placement_group_id is nil");
  if (auto job = JobId::FromBinary(group.job_id()); !job.ok()) return Annotate(job.status(), "job_id");
  if (!rpc::PlacementStrategy_IsValid(group.strategy())) {
    return absl::InvalidArgumentError(absl::StrCat("unknown placement strategy ", group.strategy()));
  }
  if (group.bundles().empty()) return absl::InvalidArgumentError("a placement group needs at least one bundle");
  for (int i = 0; i < group.bundles_size(); ++i) {
    const rpc::Bundle& bundle = group.bundles(i);
    if (bundle.index() != i) {
      return absl::InvalidArgumentError(absl::StrCat("bundle ", i, " carries index ", bundle.index()));
    }
    auto resources = ResourceSet::FromProto(bundle.resources());
    if (!resources.ok()) return Annotate(resources.status(), absl::StrCat("bundle ", i));
    if (resources->Empty()) return absl::InvalidArgumentError(absl::StrCat("bundle ", i, " holds no resource"));
  }
  return absl::OkStatus();
}

GcsPlacementGroupManager::Group* GcsPlacementGroupManager::Find(const std::string& binary_id) {
  auto id = PlacementGroupId::FromBinary(binary_id);
  if (!id.ok()) return nullptr;
  auto it = groups_.find(*id);
  return it == groups_.end() ? nullptr : &it->second;
}

void GcsPlacementGroupManager::HandleCreatePlacementGroup(const rpc::CreatePlacementGroupRequest& request,
                                                          rpc::CreatePlacementGroupReply* reply,
                                                          rpc::ReplyCallback done) {
  if (stopped_) return done(absl::UnavailableError("the GCS is stopping"));
  const rpc::PlacementGroupInfo& wanted = request.group();
  if (absl::Status status = Validate(wanted); !status.ok()) return done(Annotate(status, "CreatePlacementGroup"));
  PlacementGroupId id = PlacementGroupId::FromBinary(wanted.placement_group_id()).value();
  if (groups_.contains(id)) return done(absl::OkStatus());  // a retried request
  std::string key = NameKey(wanted.name_space(), wanted.name());
  if (!wanted.name().empty() && names_.contains(key)) {
    return done(absl::AlreadyExistsError(absl::StrCat("placement group name '", wanted.name(),
                                                      "' is already taken in namespace '", wanted.name_space(), "'")));
  }
  Group& group = groups_[id];
  group.info = wanted;
  group.info.set_state(rpc::PlacementGroupInfo::PENDING);
  group.info.set_version(1);
  group.info.set_create_time_ms(NowMs());
  for (rpc::Bundle& bundle : *group.info.mutable_bundles()) bundle.clear_node_id();
  if (!wanted.name().empty()) names_[key] = id;
  pending_.push_back(id);
  // Answered once stored: a group its creator was told of survives a GCS restart.
  Store(group, [done = std::move(done)](absl::Status stored) {
    done(stored.ok() ? stored : Annotate(stored, "storing the placement group"));
  });
  PlacePending();
}

void GcsPlacementGroupManager::HandleRemovePlacementGroup(const rpc::RemovePlacementGroupRequest& request,
                                                          rpc::RemovePlacementGroupReply* reply,
                                                          rpc::ReplyCallback done) {
  Group* group = Find(request.placement_group_id());
  if (group == nullptr) return done(UnknownGroup(request.placement_group_id()));
  if (group->info.state() != rpc::PlacementGroupInfo::REMOVED) Remove(*group);
  // Answered once the removal is stored: a restarted GCS does not bring the group back.
  table_.AfterEarlierWrites([done = std::move(done)](absl::Status) { done(absl::OkStatus()); });
}

void GcsPlacementGroupManager::HandleGetPlacementGroup(const rpc::GetPlacementGroupRequest& request,
                                                       rpc::GetPlacementGroupReply* reply, rpc::ReplyCallback done) {
  if (Group* group = Find(request.placement_group_id()); group != nullptr) {
    reply->set_found(true);
    *reply->mutable_group() = group->info;
  }
  done(absl::OkStatus());
}

void GcsPlacementGroupManager::HandleGetNamedPlacementGroup(const rpc::GetNamedPlacementGroupRequest& request,
                                                            rpc::GetNamedPlacementGroupReply* reply,
                                                            rpc::ReplyCallback done) {
  auto it = names_.find(NameKey(request.name_space(), request.name()));
  if (it != names_.end()) {
    reply->set_found(true);
    *reply->mutable_group() = groups_.at(it->second).info;
  }
  done(absl::OkStatus());
}

void GcsPlacementGroupManager::HandleGetAllPlacementGroups(const rpc::GetAllPlacementGroupsRequest& request,
                                                           rpc::GetAllPlacementGroupsReply* reply,
                                                           rpc::ReplyCallback done) {
  std::vector<const rpc::PlacementGroupInfo*> all;
  for (const auto& [id, group] : groups_) all.push_back(&group.info);
  std::sort(all.begin(), all.end(), [](const auto* a, const auto* b) {
    return a->create_time_ms() != b->create_time_ms() ? a->create_time_ms() < b->create_time_ms()
                                                      : a->placement_group_id() < b->placement_group_id();
  });
  for (const auto* info : all) *reply->add_groups() = *info;
  done(absl::OkStatus());
}

void GcsPlacementGroupManager::HandleWaitPlacementGroupReady(const rpc::WaitPlacementGroupReadyRequest& request,
                                                             rpc::WaitPlacementGroupReadyReply* reply,
                                                             rpc::ReplyCallback done) {
  Group* group = Find(request.placement_group_id());
  if (group == nullptr) return done(UnknownGroup(request.placement_group_id()));
  PlacementGroupId id = PlacementGroupId::FromBinary(request.placement_group_id()).value();
  switch (group->info.state()) {
    case rpc::PlacementGroupInfo::REMOVED:
      return done(RemovedError(id));
    case rpc::PlacementGroupInfo::CREATED:
      reply->set_ready(true);
      return done(absl::OkStatus());
    default:
      break;
  }
  if (stopped_ || request.wait_ms() <= 0) return done(absl::OkStatus());
  auto waiter = std::make_shared<Waiter>();
  waiter->reply = reply;
  waiter->done = std::move(done);
  waiter->timer = std::make_shared<boost::asio::steady_timer>(
      io_, std::chrono::milliseconds(std::min(request.wait_ms(), options_.max_poll_ms)));
  waiter->timer->async_wait([this, id, weak = std::weak_ptr<Waiter>(waiter)](const boost::system::error_code& ec) {
    auto waiter = weak.lock();
    if (ec || waiter == nullptr || !waiter->done) return;
    auto done = std::move(waiter->done);
    waiter->done = nullptr;
    if (auto it = groups_.find(id); it != groups_.end()) {
      auto& waiters = it->second.waiters;
      waiters.erase(std::remove(waiters.begin(), waiters.end(), waiter), waiters.end());
    }
    done(absl::OkStatus());  // not ready in time
  });
  group->waiters.push_back(std::move(waiter));
}

// ---- placing: phase one, prepare ----

std::vector<NodeRoom> GcsPlacementGroupManager::Rooms() const {
  std::vector<NodeRoom> rooms;
  for (const auto& [id, node] : nodes_.alive_nodes()) {
    NodeRoom room;
    room.id = id;
    if (auto reported = reported_.find(room.id); reported != reported_.end()) {
      room.total = reported->second.total;
      room.available = reported->second.available;
    } else {
      // Before its first report, a node is as free as it is big.
      room.total = ResourceSet::FromProto(node.total_resources()).value_or(ResourceSet());
      room.available = room.total;
    }
    if (auto it = reservations_.find(room.id); it != reservations_.end()) {
      for (const auto& reservation : it->second) {
        room.available -= reservation->taken;
        room.available += reservation->given;
      }
    }
    rooms.push_back(std::move(room));
  }
  return rooms;
}

rpc::BundleSpec GcsPlacementGroupManager::SpecOf(const Group& group, int index) const {
  rpc::BundleSpec spec;
  spec.set_placement_group_id(group.info.placement_group_id());
  spec.set_index(index);
  *spec.mutable_resources() = group.info.bundles(index).resources();
  return spec;
}

void GcsPlacementGroupManager::PlacePending() {
  if (stopped_ || reconciling_) return;  // a restarted GCS places nothing before Reconcile
  int64_t now = MonotonicMs();
  std::vector<PlacementGroupId> waiting(pending_.begin(), pending_.end());
  for (const PlacementGroupId& id : waiting) {
    auto it = groups_.find(id);
    if (it == groups_.end() || it->second.placing) continue;
    if (it->second.retry_at_ms > now) {
      ScheduleRetryTimer();
      continue;
    }
    Place(it->second);
  }
}

void GcsPlacementGroupManager::Place(Group& group) {
  std::vector<ResourceSet> bundles;
  std::vector<NodeId> placed;
  for (const rpc::Bundle& bundle : group.info.bundles()) {
    bundles.push_back(ResourceSet::FromProto(bundle.resources()).value());  // validated on creation
    placed.push_back(NodeId::FromOptionalBinary(bundle.node_id()).value_or(NodeId()));
  }
  auto nodes = PlaceBundles(bundles, placed, group.info.strategy(), Rooms());
  if (!nodes.ok()) {
    // It waits for the cluster's resources to change.
    group.info.set_pending_reason(std::string(nodes.status().message()));
    return;
  }
  group.info.clear_pending_reason();
  group.placing = true;
  uint64_t attempt = ++group.attempt;
  PlacementGroupId id = PlacementGroupId::FromBinary(group.info.placement_group_id()).value();
  // The bundles placed now, by node.
  std::map<NodeId, std::vector<int>> by_node;
  std::vector<std::pair<int, NodeId>> placement;
  for (size_t i = 0; i < bundles.size(); ++i) {
    if (!placed[i].IsNil()) continue;
    by_node[(*nodes)[i]].push_back(static_cast<int>(i));
    placement.emplace_back(static_cast<int>(i), (*nodes)[i]);
  }
  if (by_node.empty()) return Commit(id, attempt);  // only the commit was left to do
  auto answers = std::make_shared<NodeAnswers>(NodeAnswers{by_node.size(), {}});
  for (const auto& [node, indexes] : by_node) {
    std::vector<rpc::BundleSpec> specs;
    auto reservation = std::make_shared<Reservation>();
    for (int index : indexes) {
      specs.push_back(SpecOf(group, index));
      reservation->taken += bundles[static_cast<size_t>(index)];
    }
    reservations_[node].push_back(reservation);
    Batched<rpc::PrepareBundlesReply>(
        prepares_, node, std::move(specs),
        [this, id, attempt, node = node, reservation, answers, placement](const auto& reply) {
          Answered(*reservation, reply);
          ForgetShownReservations(node);
          answers->results.emplace_back(node, PrepareResultOf(reply, id, node));
          if (--answers->left == 0) OnPrepared(id, attempt, std::move(answers->results), placement);
        });
  }
}

void GcsPlacementGroupManager::OnPrepared(const PlacementGroupId& id, uint64_t attempt,
                                          std::vector<std::pair<NodeId, absl::Status>> results,
                                          const std::vector<std::pair<int, NodeId>>& placement) {
  Group* current = CurrentGroup(id, attempt);
  absl::Status failure;
  for (const auto& [node, status] : results) {
    if (!status.ok() && failure.ok()) failure = status;
  }
  if (current == nullptr || !failure.ok()) {
    // Roll back: what was set aside on the nodes that said yes goes back.
    const Group& group = groups_.at(id);
    for (const auto& [node, status] : results) {
      if (!status.ok() || stopped_) continue;
      std::vector<rpc::BundleSpec> specs;
      for (const auto& [index, target] : placement) {
        if (target == node) specs.push_back(SpecOf(group, index));
      }
      CancelOn(node, std::move(specs));
    }
    if (current != nullptr) Retry(*current, std::string(failure.message()));
    return;
  }
  for (const auto& [index, node] : placement) current->info.mutable_bundles(index)->set_node_id(node.Binary());
  if (current->info.state() == rpc::PlacementGroupInfo::PENDING) {
    SetState(*current, rpc::PlacementGroupInfo::PREPARED);
  }
  Commit(id, attempt);
}

GcsPlacementGroupManager::Group* GcsPlacementGroupManager::CurrentGroup(const PlacementGroupId& id,
                                                                        uint64_t attempt) {
  auto it = groups_.find(id);
  if (it == groups_.end() || it->second.attempt != attempt ||
      it->second.info.state() == rpc::PlacementGroupInfo::REMOVED) {
    return nullptr;
  }
  return &it->second;
}

// ---- placing: phase two, commit ----

void GcsPlacementGroupManager::Commit(const PlacementGroupId& id, uint64_t attempt) {
  Group& group = groups_.at(id);
  // Every bundle, not only the new ones: a group placed again after a lost node may have
  // bundles whose commit was cut short. Committing twice is harmless.
  std::map<NodeId, std::vector<rpc::BundleSpec>> by_node;
  for (int i = 0; i < group.info.bundles_size(); ++i) {
    NodeId node = NodeId::FromBinary(group.info.bundles(i).node_id()).value();
    by_node[node].push_back(SpecOf(group, i));
  }
  auto answers = std::make_shared<NodeAnswers>(NodeAnswers{by_node.size(), {}});
  for (auto& [node, specs] : by_node) {
    Batched<rpc::CommitBundlesReply>(commits_, node, std::move(specs), [this, id, attempt, node = node, answers](
                                                                            const auto& reply) {
      answers->results.emplace_back(
          node, reply.ok() ? absl::OkStatus() : Annotate(reply.status(), "committing bundles on node " + node.Hex()));
      if (--answers->left > 0) return;
      Group* current = CurrentGroup(id, attempt);
      if (current == nullptr) return;  // removed (its bundles are cancelled) or placed again since
      Group& group = *current;
      absl::Status failure;
      for (const auto& [failed_node, result] : answers->results) {
        if (result.ok()) continue;
        if (failure.ok()) failure = result;
        // That node's bundles must be placed again (most likely it died).
        std::vector<rpc::BundleSpec> lost;
        for (rpc::Bundle& bundle : *group.info.mutable_bundles()) {
          if (bundle.node_id() != failed_node.Binary()) continue;
          lost.push_back(SpecOf(group, bundle.index()));
          bundle.clear_node_id();
        }
        CancelOn(failed_node, std::move(lost));
      }
      if (!failure.ok()) {
        if (group.info.state() == rpc::PlacementGroupInfo::CREATED) {
          SetState(group, rpc::PlacementGroupInfo::RESCHEDULING);
        }
        return Retry(group, std::string(failure.message()));
      }
      group.placing = false;
      pending_.erase(std::remove(pending_.begin(), pending_.end(), id), pending_.end());
      // Waiters learn of it once stored.
      SetState(group, rpc::PlacementGroupInfo::CREATED, [this, id](absl::Status) {
        if (auto it = groups_.find(id); it != groups_.end()) AnswerWaiters(it->second);
      });
    });
  }
}

namespace {

// One call of each kind, for Flush.
void Send(raylet::BundleClient& client, rpc::PrepareBundlesRequest request,
          rpc::RpcCallback<rpc::PrepareBundlesReply> done) {
  client.PrepareBundles(request, std::move(done));
}
void Send(raylet::BundleClient& client, rpc::CommitBundlesRequest request,
          rpc::RpcCallback<rpc::CommitBundlesReply> done) {
  client.CommitBundles(request, std::move(done));
}
void Send(raylet::BundleClient& client, rpc::CancelBundlesRequest request,
          rpc::RpcCallback<rpc::CancelBundlesReply> done) {
  client.CancelBundles(request, std::move(done));
}

template <typename Reply>
struct RequestOf;
template <>
struct RequestOf<rpc::PrepareBundlesReply> {
  using Type = rpc::PrepareBundlesRequest;
};
template <>
struct RequestOf<rpc::CommitBundlesReply> {
  using Type = rpc::CommitBundlesRequest;
};
template <>
struct RequestOf<rpc::CancelBundlesReply> {
  using Type = rpc::CancelBundlesRequest;
};

}  // namespace

absl::Status GcsPlacementGroupManager::PrepareResultOf(const absl::StatusOr<rpc::PrepareBundlesReply>& reply,
                                                       const PlacementGroupId& id, const NodeId& node) {
  if (!reply.ok()) return Annotate(reply.status(), "preparing bundles on node " + node.Hex());
  for (const auto& result : reply->results()) {
    if (result.placement_group_id() != id.Binary()) continue;
    if (result.success()) return absl::OkStatus();
    return absl::ResourceExhaustedError("node " + node.Hex() + " refused: " + result.reason());
  }
  return absl::InternalError("node " + node.Hex() + " did not answer for placement group " + id.Hex());
}

template <typename Reply>
void GcsPlacementGroupManager::Batched(Batches<Reply>& batches, const NodeId& node,
                                       std::vector<rpc::BundleSpec> bundles,
                                       std::function<void(const absl::StatusOr<Reply>&)> done) {
  Batch<Reply>& batch = batches[node];
  for (auto& spec : bundles) batch.bundles.push_back(std::move(spec));
  batch.callbacks.push_back(std::move(done));
  if (!batch.in_flight) Flush(batches, node);
}

template <typename Reply>
void GcsPlacementGroupManager::Flush(Batches<Reply>& batches, const NodeId& node) {
  auto it = batches.find(node);
  if (it == batches.end() || it->second.callbacks.empty()) return;
  Batch<Reply>& batch = it->second;
  auto callbacks = std::move(batch.callbacks);
  typename RequestOf<Reply>::Type request;
  for (auto& spec : batch.bundles) *request.add_bundles() = std::move(spec);
  batch.callbacks.clear();
  batch.bundles.clear();
  auto finish = [this, &batches, node, callbacks = std::move(callbacks)](const absl::StatusOr<Reply>& reply) {
    for (const auto& callback : callbacks) callback(reply);
    auto it = batches.find(node);
    if (it == batches.end()) return;
    it->second.in_flight = false;
    Flush(batches, node);
  };
  std::shared_ptr<raylet::BundleClient> client = ClientFor(node);
  if (client == nullptr) return finish(absl::UnavailableError("node " + node.Hex() + " is dead"));
  batch.in_flight = true;
  Send(*client, std::move(request), std::move(finish));
}

template <typename Reply>
void GcsPlacementGroupManager::FailBatches(Batches<Reply>& batches, const NodeId& node, const absl::Status& status) {
  auto it = batches.find(node);
  if (it == batches.end()) return;
  auto callbacks = std::move(it->second.callbacks);
  batches.erase(it);
  for (const auto& callback : callbacks) callback(status);
}

void GcsPlacementGroupManager::CancelOn(const NodeId& node, std::vector<rpc::BundleSpec> bundles) {
  if (bundles.empty()) return;
  // What comes back counts at once: a group placed next must not see the node still full.
  auto given = std::make_shared<Reservation>();
  for (const rpc::BundleSpec& spec : bundles) given->given += ResourceSet::FromProto(spec.resources()).value();
  reservations_[node].push_back(given);
  Batched<rpc::CancelBundlesReply>(cancels_, node, std::move(bundles), [this, node, given](const auto& reply) {
    Answered(*given, reply);
    ForgetShownReservations(node);
    // A dead node's bundles went with it; anything else is worth a line in the log.
    if (!reply.ok() && !absl::IsUnavailable(reply.status())) {
      spdlog::warn("cancelling bundles on node {}: {}", node.ShortHex(), reply.status().message());
    }
  });
}

std::shared_ptr<raylet::BundleClient> GcsPlacementGroupManager::ClientFor(const NodeId& node) {
  if (auto it = clients_.find(node); it != clients_.end()) return it->second;
  const rpc::NodeInfo* info = nodes_.GetAliveNode(node);
  if (info == nullptr) return nullptr;
  return clients_[node] = bundle_clients_(*info);
}

// ---- state changes ----

void GcsPlacementGroupManager::Retry(Group& group, const std::string& why) {
  group.placing = false;
  group.info.set_pending_reason(why);
  group.retry_at_ms = MonotonicMs() + options_.retry_delay_ms;
  spdlog::debug("placement group {} not placed yet: {}",
                PlacementGroupId::FromBinary(group.info.placement_group_id()).value().ShortHex(), why);
  ScheduleRetryTimer();
}

void GcsPlacementGroupManager::ScheduleRetryTimer() {
  if (retry_timer_armed_ || stopped_) return;
  retry_timer_armed_ = true;
  retry_timer_.expires_after(std::chrono::milliseconds(options_.retry_delay_ms));
  retry_timer_.async_wait([this](const boost::system::error_code& ec) {
    retry_timer_armed_ = false;
    if (ec || stopped_) return;
    PlacePending();
  });
}

void GcsPlacementGroupManager::SetState(Group& group, rpc::PlacementGroupInfo::State state,
                                        std::function<void(absl::Status)> stored) {
  group.info.set_state(state);
  group.info.set_version(group.info.version() + 1);
  spdlog::debug("placement group {} is {}",
                PlacementGroupId::FromBinary(group.info.placement_group_id()).value().ShortHex(), GroupStateName(state));
  Store(group, std::move(stored));
}

void GcsPlacementGroupManager::Store(const Group& group, std::function<void(absl::Status)> stored) {
  table_.Put(group.info.placement_group_id(), group.info,
             [id = group.info.placement_group_id(), stored = std::move(stored)](absl::Status status) {
               if (!status.ok()) {
                 spdlog::error("storing placement group {}: {}",
                               PlacementGroupId::FromBinary(id).value().ShortHex(), status.message());
               }
               if (stored) stored(status);
             });
}

void GcsPlacementGroupManager::AnswerWaiters(Group& group) {
  std::vector<std::shared_ptr<Waiter>> waiters = std::move(group.waiters);
  group.waiters.clear();
  bool removed = group.info.state() == rpc::PlacementGroupInfo::REMOVED;
  PlacementGroupId id = PlacementGroupId::FromBinary(group.info.placement_group_id()).value();
  for (const auto& waiter : waiters) {
    if (!waiter->done) continue;
    auto done = std::move(waiter->done);
    waiter->done = nullptr;
    waiter->timer->cancel();
    if (removed) {
      done(RemovedError(id));
    } else {
      waiter->reply->set_ready(group.info.state() == rpc::PlacementGroupInfo::CREATED);
      done(absl::OkStatus());
    }
  }
}

void GcsPlacementGroupManager::Remove(Group& group) {
  PlacementGroupId id = PlacementGroupId::FromBinary(group.info.placement_group_id()).value();
  auto name = names_.find(NameKey(group.info.name_space(), group.info.name()));
  if (name != names_.end() && name->second == id) names_.erase(name);
  pending_.erase(std::remove(pending_.begin(), pending_.end(), id), pending_.end());
  ++group.attempt;  // answers in flight now undo what they reserved
  group.placing = false;
  // The actors in it end first, so none restarts into a bundle that is going.
  for (const auto& listener : removed_listeners_) listener(id);
  std::map<NodeId, std::vector<rpc::BundleSpec>> by_node;
  for (rpc::Bundle& bundle : *group.info.mutable_bundles()) {
    auto node = NodeId::FromOptionalBinary(bundle.node_id());
    if (node.ok() && !node->IsNil()) by_node[*node].push_back(SpecOf(group, bundle.index()));
    bundle.clear_node_id();
  }
  for (auto& [node, specs] : by_node) CancelOn(node, std::move(specs));
  group.info.clear_pending_reason();
  SetState(group, rpc::PlacementGroupInfo::REMOVED);
  AnswerWaiters(group);
  // Room was freed: waiting groups may fit (the nodes' reports will say so too).
  PlacePending();
}

// ---- the cluster changes ----

void GcsPlacementGroupManager::OnResourcesReported(const NodeId& node_id, bool changed) {
  // The node's resources as a new bundle sees them: other groups' bundles (the resources
  // named after them) are no room for it.
  auto parsed = resources_.parsed().find(node_id);
  if (changed && parsed != resources_.parsed().end()) {
    NodeRoom& room = reported_[node_id];
    room = NodeRoom{node_id, {}, {}};
    for (const auto& [name, amount] : parsed->second.total.quantities()) {
      if (!IsAnyGroupResource(name)) room.total.Set(name, amount);
    }
    for (const auto& [name, amount] : parsed->second.available.quantities()) {
      if (!IsAnyGroupResource(name)) room.available.Set(name, amount);
    }
  }
  bool forgot = ForgetShownReservations(node_id);
  if ((changed || forgot) && !pending_.empty()) PlacePending();
}

template <typename Reply>
void GcsPlacementGroupManager::Answered(Reservation& reservation, const absl::StatusOr<Reply>& reply) {
  reservation.answered = true;
  // Without an answer (the node is unreachable), the next report decides.
  if (reply.ok()) reservation.in_report_seq = reply->in_report_seq();
}

bool GcsPlacementGroupManager::ForgetShownReservations(const NodeId& node_id) {
  auto it = reservations_.find(node_id);
  if (it == reservations_.end()) return false;
  auto parsed = resources_.parsed().find(node_id);
  int64_t shown = parsed == resources_.parsed().end() ? 0 : parsed->second.report_seq;
  auto& list = it->second;
  size_t before = list.size();
  list.erase(std::remove_if(list.begin(), list.end(),
                            [shown](const auto& r) { return r->answered && r->in_report_seq <= shown; }),
             list.end());
  return list.size() != before;
}

void GcsPlacementGroupManager::OnNodeDead(const NodeId& node_id) {
  reservations_.erase(node_id);
  reported_.erase(node_id);
  clients_.erase(node_id);
  // Batched calls not sent yet will never be: their callers learn it now.
  absl::Status died = absl::UnavailableError("node " + node_id.Hex() + " died");
  FailBatches(prepares_, node_id, died);
  FailBatches(commits_, node_id, died);
  FailBatches(cancels_, node_id, died);
  for (auto& [id, group] : groups_) {
    if (group.info.state() == rpc::PlacementGroupInfo::REMOVED) continue;
    bool lost = false;
    for (rpc::Bundle& bundle : *group.info.mutable_bundles()) {
      if (bundle.node_id() != node_id.Binary()) continue;
      bundle.clear_node_id();
      lost = true;
    }
    // A group being placed may have chosen that node: its attempt starts over.
    if (!lost && !group.placing) continue;
    PlaceAgain(id, group, lost);
  }
  PlacePending();
}

void GcsPlacementGroupManager::PlaceAgain(const PlacementGroupId& id, Group& group, bool lost) {
  ++group.attempt;
  group.placing = false;
  group.retry_at_ms = 0;
  if (lost && group.info.state() != rpc::PlacementGroupInfo::PENDING) {
    SetState(group, rpc::PlacementGroupInfo::RESCHEDULING);
  }
  if (std::find(pending_.begin(), pending_.end(), id) == pending_.end()) pending_.push_front(id);
}

void GcsPlacementGroupManager::OnJobFinished(const JobId& job_id) {
  for (auto& [id, group] : groups_) {
    if (group.info.job_id() == job_id.Binary() && !group.info.detached() &&
        group.info.state() != rpc::PlacementGroupInfo::REMOVED) {
      Remove(group);
    }
  }
}

void GcsPlacementGroupManager::Stop() {
  stopped_ = true;
  retry_timer_.cancel();
  for (auto& [id, group] : groups_) AnswerWaiters(group);
}

}  // namespace orrery::gcs
