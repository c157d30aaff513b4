// GcsActorManager: the actor table and each actor's life. For a registered actor it leases a
// worker from a raylet (following spillback), runs the factory there (CoreWorkerService
// CreateActor), and records where the actor lives. It restarts an actor whose process or node
// died while its budget allows, and ends for good one that was killed, exited, failed to
// construct, or whose owner died (unless detached). Callers learn of changes by long-polling
// GetActorInfo: the call is answered when the actor's version passes the one they know.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "orrery/core_worker.grpc.pb.h"
#include "src/common/placement_group.h"
#include "src/common/id.h"
#include "src/gcs/ended_history.h"
#include "src/gcs/gcs_handler.h"
#include "src/gcs/gcs_node_manager.h"
#include "src/gcs/gcs_table_storage.h"
#include "src/raylet/client/raylet_client.h"
#include "src/rpc/grpc_client.h"

namespace orrery::gcs {

// Owned and called by the GCS event loop only; every client callback arrives on that loop.
class GcsActorManager final : public ActorHandler {
 public:
  struct Options {
    std::string token;
    rpc::RpcOptions rpc;
    // How long a raylet may hold a lease request before answering PENDING.
    int64_t lease_wait_ms = 10'000;
    // The longest a GetActorInfo long poll is held.
    int64_t max_poll_ms = 30'000;
    // Who holds this GCS instance's actor leases at the raylets (never reported dead, so
    // leases live until returned); a restarted GCS frees those of earlier instances.
    WorkerId holder_id = WorkerId::FromRandom();
    // Dead actors kept (in memory and storage) for lookups and `orrery list actors`; older
    // ones are forgotten.
    size_t max_dead_actors = 10'000;
  };
  using RayletFactory = std::function<std::shared_ptr<raylet::RayletClient>(const std::string& address)>;

  GcsActorManager(boost::asio::io_context& io, StoreClient& store, GcsNodeManager& nodes, RayletFactory raylets,
                  Options options);
  ~GcsActorManager() override;

  // Restores the actor table. ALIVE actors keep their workers; actors that were being created
  // or restarted are scheduled again once `Reconcile` has freed what `earlier_holders` (the
  // lease holders of earlier GCS instances) left at the raylets. `done` runs after the restore.
  void Load(std::function<void(absl::Status)> done);
  size_t num_actors() const { return actors_.size(); }
  // Calls fn(const rpc::ActorInfo&) for each actor kept (metrics).
  template <typename Fn>
  void ForEachActor(Fn&& fn) const {
    for (const auto& [id, actor] : actors_) fn(actor.info);
  }
  // Asks every alive raylet to end the leases of `earlier_holders` but those of ALIVE actors,
  // then schedules the actors waiting for it; `done(all_released)` when every raylet answered
  // (all_released: each one did; a raylet that could not be asked may still hold some).
  void Reconcile(std::vector<WorkerId> earlier_holders, std::function<void(bool all_released)> done);
  // A raylet registered again after the restart and reported the leases it hosts: an actor
  // restored ALIVE there whose lease it no longer has lost its process during the gap (restarted
  // or dead by its max_restarts), and the leases of earlier GCS instances that no ALIVE actor
  // uses are ended.
  void OnNodeReported(const NodeId& node_id, const rpc::HostedState& hosted);

  void HandleRegisterActor(const rpc::RegisterActorRequest& request, rpc::RegisterActorReply* reply,
                           ReplyCallback done) override;
  void HandleGetActorInfo(const rpc::GetActorInfoRequest& request, rpc::GetActorInfoReply* reply,
                          ReplyCallback done) override;
  void HandleGetNamedActor(const rpc::GetNamedActorRequest& request, rpc::GetNamedActorReply* reply,
                           ReplyCallback done) override;
  void HandleListActors(const rpc::ListActorsRequest& request, rpc::ListActorsReply* reply,
                        ReplyCallback done) override;
  void HandleKillActor(const rpc::KillActorRequest& request, rpc::KillActorReply* reply,
                       ReplyCallback done) override;

  // A worker or driver died: an actor it served dies or restarts; actors it owned die.
  void OnWorkerDeath(const rpc::WorkerDeath& death);
  void OnNodeDead(const NodeId& node_id);
  // The job's non-detached actors die with it.
  void OnJobFinished(const JobId& job_id);
  // The actors placed in the group die (KILLED), restarts or not: their bundle is gone.
  // Tells which placement groups are removed: an actor created in one after its removal dies.
  void SetRemovedGroupCheck(std::function<bool(const PlacementGroupId&)> is_removed) {
    group_removed_ = std::move(is_removed);
  }
  void OnPlacementGroupRemoved(const PlacementGroupId& group_id);
  // Answers every open poll and stops scheduling.
  void Stop();

 private:
  struct Poll {
    int64_t after_version = 0;
    rpc::GetActorInfoReply* reply = nullptr;
    ReplyCallback done;
    std::shared_ptr<boost::asio::steady_timer> timer;
  };
  struct Actor {
    rpc::ActorInfo info;
    // Bumped by every scheduling attempt and by death: answers for an older one are ignored.
    uint64_t generation = 0;
    LeaseId lease_id;
    bool lease_granted = false;
    // Where the lease request waits when another raylet chose that node (spillback); nil: at
    // the owner's node's raylet.
    NodeId lease_node;
    std::shared_ptr<raylet::RayletClient> raylet;
    NodeId node;
    WorkerId worker;
    std::vector<std::shared_ptr<Poll>> polls;
  };
  using WorkerClient = rpc::GrpcClient<rpc::CoreWorkerService>;

  // What KillActor does to a found actor (its answer waits for the writes).
  void Kill(Actor& actor, const rpc::KillActorRequest& request);
  // Leases a worker for the actor (again), from its owner's node when alive.
  void Schedule(Actor& actor);
  void RequestLease(const ActorId& id, uint64_t generation, std::shared_ptr<raylet::RayletClient> raylet);
  void OnLeaseReply(const ActorId& id, uint64_t generation, const LeaseId& lease_id,
                    const std::shared_ptr<raylet::RayletClient>& raylet,
                    absl::StatusOr<rpc::RequestWorkerLeaseReply> reply);
  void CreateOn(Actor& actor, const rpc::RequestWorkerLeaseReply& grant);
  void OnCreated(const ActorId& id, uint64_t generation, absl::StatusOr<rpc::CreateActorReply> reply);
  // The actor's process is gone: restart while the budget allows, else DEAD.
  void OnProcessDied(Actor& actor, rpc::ActorInfo::DeathCause cause, const std::string& message);
  void MarkDead(Actor& actor, rpc::ActorInfo::DeathCause cause, const std::string& message);
  // A dead actor that fell out of the history: gone from memory and storage.
  void Forget(const ActorId& dead);
  // The non-detached actors `owner` created die with it.
  void KillOwnedBy(const WorkerId& owner, const std::string& message);
  // Ends the lease the actor holds or waits for, killing its worker.
  void ReleaseWorker(Actor& actor, const std::string& reason);
  void RetryLater(const ActorId& id, uint64_t generation);
  // Stores and announces a change: bumps the version and answers the polls it satisfies.
  // `stored` (optional) runs once the change is in storage: the answer to the call that caused it.
  void Changed(Actor& actor, std::function<void(absl::Status)> stored = nullptr);
  // Restores one stored row.
  void Restore(rpc::ActorInfo info);
  // What asks a raylet to end an earlier instance's leases but those of ALIVE actors (the
  // caller sets the holder): built once per pass, as it lists every ALIVE actor's lease.
  rpc::ReleaseLeasesOfHolderRequest ReleaseUnusedLeasesRequest() const;
  void Answer(Actor& actor, const std::shared_ptr<Poll>& poll);
  WorkerClient& ClientFor(const rpc::WorkerAddress& address);
  std::shared_ptr<raylet::RayletClient> RayletFor(const NodeId& node_id);
  std::shared_ptr<raylet::RayletClient> RayletAt(const rpc::NodeInfo& node);
  Actor* Find(const std::string& binary_id);

  boost::asio::io_context& io_;
  GcsTable<rpc::ActorInfo> table_;
  GcsNodeManager& nodes_;
  RayletFactory raylets_;
  const Options options_;
  // Who holds actor leases at the raylets: never reported dead, so leases live until returned.
  const WorkerId holder_id_;
  // Restored actors waiting for Reconcile before they are scheduled again.
  std::vector<ActorId> awaiting_reconcile_;
  // Actors restored ALIVE, and their generation then, until their node reports (OnNodeReported).
  // One that changed since (a later generation) is not checked against the report.
  absl::flat_hash_map<ActorId, uint64_t> unconfirmed_;
  // The actor-lease holders of earlier GCS instances (given to Reconcile).
  std::vector<WorkerId> earlier_holders_;
  absl::flat_hash_map<ActorId, Actor> actors_;
  EndedHistory<ActorId> dead_history_;
  // (namespace, name) -> the actor holding the name.
  absl::flat_hash_map<std::pair<std::string, std::string>, ActorId> names_;
  absl::flat_hash_map<WorkerId, ActorId> by_worker_;
  // By HOST:PORT: the worker there (its id) and a client for it.
  absl::flat_hash_map<std::string, std::pair<std::string, std::unique_ptr<WorkerClient>>> worker_clients_;
  std::function<bool(const PlacementGroupId&)> group_removed_;
  bool stopped_ = false;
};

}  // namespace orrery::gcs
