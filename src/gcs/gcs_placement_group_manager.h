// GcsPlacementGroupManager: the placement-group table, and the two-phase commit that reserves
// each group's bundles on the raylets.
//
// A group is placed as a whole: the manager picks a node per bundle (bundle_placement.h) from
// the nodes' reported free resources, less what its own prepares in flight will take; asks
// each chosen raylet to prepare (set aside) its bundles; and once every raylet said yes, asks
// them to commit, batching the commits of all groups bound for one raylet into one call. Any
// refusal or failure rolls back what was prepared, and the group waits for the next change of
// the cluster's resources. A node's death sends its groups back to placing their lost bundles
// (RESCHEDULING); a removal cancels every bundle, which ends the work inside them.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "orrery/placement_group.pb.h"
#include "src/common/placement_group.h"
#include "src/gcs/bundle_placement.h"
#include "src/gcs/gcs_node_manager.h"
#include "src/gcs/gcs_resource_manager.h"
#include "src/gcs/gcs_table_storage.h"
#include "src/raylet/client/bundle_client.h"
#include "src/rpc/server_calls.h"

namespace orrery::gcs {

// Owned and called by the GCS event loop only.
class GcsPlacementGroupManager {
 public:
  struct Options {
    // The longest a WaitPlacementGroupReady long poll is held.
    int64_t max_poll_ms = 30'000;
    // After a failed attempt, the next one waits at least this long (or a resource change).
    int64_t retry_delay_ms = 200;
  };
  using BundleClientFactory = std::function<std::shared_ptr<raylet::BundleClient>(const rpc::NodeInfo& node)>;
  // A group was removed: the actors placed in it end.
  using RemovedListener = std::function<void(const PlacementGroupId&)>;

  GcsPlacementGroupManager(boost::asio::io_context& io, StoreClient& store, GcsNodeManager& nodes,
                           GcsResourceManager& resources, BundleClientFactory bundle_clients, Options options);

  // Restores the table after a GCS restart (gcs_placement_group_restore.cc). CREATED groups keep
  // their committed bundles; a PREPARED one is committed again; every other bundle a raylet
  // holds (a prepare the dead GCS had not stored, a removal it had not finished) is cancelled
  // before anything is placed (Reconcile). REMOVED ones stay listed.
  void Load(std::function<void(absl::Status)> done);
  void Reconcile();
  // A raylet registered again after the restart and reported the bundles it holds committed:
  // a bundle restored as placed there that it does not hold is placed again (its group
  // RESCHEDULING). Each node's restored bundles are checked against its first report only.
  void OnNodeReported(const NodeId& node_id, const rpc::HostedState& hosted);
  size_t num_groups() const { return groups_.size(); }
  // Calls fn(const rpc::PlacementGroupInfo&) for each group kept (metrics).
  template <typename Fn>
  void ForEachGroup(Fn&& fn) const {
    for (const auto& [id, group] : groups_) fn(group.info);
  }

  void HandleCreatePlacementGroup(const rpc::CreatePlacementGroupRequest& request,
                                  rpc::CreatePlacementGroupReply* reply, rpc::ReplyCallback done);
  void HandleRemovePlacementGroup(const rpc::RemovePlacementGroupRequest& request,
                                  rpc::RemovePlacementGroupReply* reply, rpc::ReplyCallback done);
  void HandleGetPlacementGroup(const rpc::GetPlacementGroupRequest& request, rpc::GetPlacementGroupReply* reply,
                               rpc::ReplyCallback done);
  void HandleGetNamedPlacementGroup(const rpc::GetNamedPlacementGroupRequest& request,
                                    rpc::GetNamedPlacementGroupReply* reply, rpc::ReplyCallback done);
  void HandleGetAllPlacementGroups(const rpc::GetAllPlacementGroupsRequest& request,
                                   rpc::GetAllPlacementGroupsReply* reply, rpc::ReplyCallback done);
  void HandleWaitPlacementGroupReady(const rpc::WaitPlacementGroupReadyRequest& request,
                                     rpc::WaitPlacementGroupReadyReply* reply, rpc::ReplyCallback done);

  void AddRemovedListener(RemovedListener listener) { removed_listeners_.push_back(std::move(listener)); }
  // Whether the group was removed (by its creator, another process, or with its job).
  bool IsRemoved(const PlacementGroupId& id) const {
    auto it = groups_.find(id);
    return it != groups_.end() && it->second.info.state() == rpc::PlacementGroupInfo::REMOVED;
  }
  // Bundles on the node are lost: their groups are placed again.
  void OnNodeDead(const NodeId& node_id);
  // A node sent a report (`changed`: its free resources differ), or joined: waiting groups may
  // fit now, and what the manager did to the node that the report shows stops counting twice.
  void OnResourcesReported(const NodeId& node_id, bool changed);
  // The job's groups go with it, except detached ones.
  void OnJobFinished(const JobId& job_id);
  // Answers every open wait and stops placing.
  void Stop();

 private:
  struct Waiter {
    rpc::WaitPlacementGroupReadyReply* reply = nullptr;
    rpc::ReplyCallback done;
    std::shared_ptr<boost::asio::steady_timer> timer;
  };
  struct Group {
    rpc::PlacementGroupInfo info;
    // Bumped by every placing attempt, removal and lost node: answers for an older one are
    // stale, and undo what they reserved.
    uint64_t attempt = 0;
    bool placing = false;
    // Not before this time (after a failed attempt).
    int64_t retry_at_ms = 0;
    std::vector<std::shared_ptr<Waiter>> waiters;
  };
  // Calls of one kind to one raylet, batched: while one is in flight, the next gathers all
  // that arrive meanwhile. Reply is the call's reply type.
  template <typename Reply>
  struct Batch {
    bool in_flight = false;
    std::vector<rpc::BundleSpec> bundles;
    std::vector<std::function<void(const absl::StatusOr<Reply>&)>> callbacks;
  };
  template <typename Reply>
  using Batches = absl::flat_hash_map<NodeId, Batch<Reply>>;
  // The answers of the nodes of one attempt's phase, as they come.
  struct NodeAnswers {
    size_t left;
    std::vector<std::pair<NodeId, absl::Status>> results;
  };
  // What the manager did to a node's free resources that its reports may not show yet: a
  // prepare takes, a cancel gives back. Counted until the node's report numbered
  // in_report_seq (named by the answer) or a later one arrives: a report built before the
  // node acted can arrive after its answer.
  struct Reservation {
    ResourceSet taken;
    ResourceSet given;
    bool answered = false;
    int64_t in_report_seq = 0;
  };
  // Records the node's answer to `reservation`; true once a report shows it.
  template <typename Reply>
  void Answered(Reservation& reservation, const absl::StatusOr<Reply>& reply);
  // Forgets the node's reservations that its reports show; true if there were any.
  bool ForgetShownReservations(const NodeId& node_id);

  static absl::Status Validate(const rpc::PlacementGroupInfo& group);
  // The key of names_.
  static std::string NameKey(const std::string& name_space, const std::string& name);
  Group* Find(const std::string& binary_id);
  void PlacePending();
  void Place(Group& group);
  std::vector<NodeRoom> Rooms() const;
  // What `reply` (to a batch of prepares sent to `node`) says of group `id`.
  static absl::Status PrepareResultOf(const absl::StatusOr<rpc::PrepareBundlesReply>& reply,
                                      const PlacementGroupId& id, const NodeId& node);
  void OnPrepared(const PlacementGroupId& id, uint64_t attempt, std::vector<std::pair<NodeId, absl::Status>> results,
                  const std::vector<std::pair<int, NodeId>>& placement);
  // Commits every bundle of the group (each already prepared on its node).
  void Commit(const PlacementGroupId& id, uint64_t attempt);
  // The group, while `attempt` is its latest and it is not removed; else null (the answer at
  // hand is stale).
  Group* CurrentGroup(const PlacementGroupId& id, uint64_t attempt);
  // Sends `bundles` to `node` in its next call of `batches`' kind; `done` gets that call's reply.
  template <typename Reply>
  void Batched(Batches<Reply>& batches, const NodeId& node, std::vector<rpc::BundleSpec> bundles,
               std::function<void(const absl::StatusOr<Reply>&)> done);
  template <typename Reply>
  void Flush(Batches<Reply>& batches, const NodeId& node);
  // Answers every call waiting in `batches` for `node` with `status`, and forgets them.
  template <typename Reply>
  void FailBatches(Batches<Reply>& batches, const NodeId& node, const absl::Status& status);
  void CancelOn(const NodeId& node, std::vector<rpc::BundleSpec> bundles);
  void Retry(Group& group, const std::string& why);
  // The group's placing starts over, ahead of the queue: `lost`, a bundle it had is gone (its
  // node_id cleared by the caller); else a node it was being placed on is.
  void PlaceAgain(const PlacementGroupId& id, Group& group, bool lost);
  // Sets the state and stores the group; `stored` (optional) runs once it is in storage.
  void SetState(Group& group, rpc::PlacementGroupInfo::State state,
                std::function<void(absl::Status)> stored = nullptr);
  void Store(const Group& group, std::function<void(absl::Status)> stored);
  void AnswerWaiters(Group& group);
  void Remove(Group& group);
  std::shared_ptr<raylet::BundleClient> ClientFor(const NodeId& node);
  rpc::BundleSpec SpecOf(const Group& group, int index) const;
  void ScheduleRetryTimer();

  boost::asio::io_context& io_;
  GcsTable<rpc::PlacementGroupInfo> table_;
  GcsNodeManager& nodes_;
  GcsResourceManager& resources_;
  BundleClientFactory bundle_clients_;
  const Options options_;
  absl::flat_hash_map<PlacementGroupId, Group> groups_;
  // Groups waiting to be placed, oldest first: an older group is placed before a newer one.
  std::deque<PlacementGroupId> pending_;
  // "namespace\0name" -> the live group holding that name.
  absl::flat_hash_map<std::string, PlacementGroupId> names_;
  absl::flat_hash_map<NodeId, std::shared_ptr<raylet::BundleClient>> clients_;
  Batches<rpc::PrepareBundlesReply> prepares_;
  Batches<rpc::CommitBundlesReply> commits_;
  Batches<rpc::CancelBundlesReply> cancels_;
  absl::flat_hash_map<NodeId, std::vector<std::shared_ptr<Reservation>>> reservations_;
  // Each node's last reported resources, less those of groups' bundles.
  absl::flat_hash_map<NodeId, NodeRoom> reported_;
  std::vector<RemovedListener> removed_listeners_;
  boost::asio::steady_timer retry_timer_;
  bool retry_timer_armed_ = false;
  // Restored groups placed (again) once Reconcile has cleared the raylets of orphan bundles;
  // nothing is placed meanwhile.
  std::vector<PlacementGroupId> awaiting_reconcile_;
  bool reconciling_ = false;
  // By node: the bundles restored as placed there (group, index), until the node reports.
  absl::flat_hash_map<NodeId, std::vector<std::pair<PlacementGroupId, int>>> unconfirmed_bundles_;
  bool stopped_ = false;
};

}  // namespace orrery::gcs
