// LeaseManager: worker leases on this node. A request is queued until its resources are free
// and a worker of its key is ready, then granted. Lease ids make every step idempotent: a
// retried request is answered with the same grant (never a second one), a retried cancel or
// return is a no-op. A request no node could ever hold stays queued as infeasible demand; one
// another node could hold is answered with that node (spillback). A request that waits here for
// resources that granted leases hold makes the raylet ask those leases' holders to give them
// back once idle (ask_to_yield): an owner keeping an idle worker for reuse never costs another
// request a CPU.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "orrery/gcs.pb.h"
#include "orrery/node_manager.pb.h"
#include "src/common/placement_group.h"
#include "src/raylet/cluster_view.h"
#include "src/raylet/node_resources.h"
#include "src/raylet/worker_provider.h"
#include "src/rpc/server_calls.h"

namespace orrery::raylet {

// Owned and called by the raylet event loop only.
class LeaseManager {
 public:
  struct Options {
    NodeId node_id;
    std::string node_ip;
    // Requests are held open at most this long before the PENDING answer.
    int64_t max_wait_ms = 30'000;
    // A lease nobody is asking about any more (its requester stopped re-asking) is dropped,
    // and an unclaimed grant returned, after this long.
    int64_t abandon_after_ms = 120'000;
    // CUDA names of this node's GPU instances, by index.
    std::vector<std::string> gpu_names;
    size_t remembered_leases = 10'000;
    // Above this utilization (the used fraction of what a request asks for) the node sends
    // the request to a less-utilized node with room (see scheduling_policy.h).
    double spread_threshold = 0.5;
    // Asks `holder` to return `leases` (granted here) now if idle, else once idle: a request
    // waits for what they hold. Each lease is asked about once. Unset: nobody is asked.
    std::function<void(const rpc::WorkerAddress& holder, std::vector<LeaseId> leases)> ask_to_yield;
    // Asks `holder` which of `leases` (task leases granted here) it does not hold; `done` gets
    // those, or why the holder did not answer. Unset: holders are never asked.
    using NotHeld = std::function<void(absl::StatusOr<std::vector<LeaseId>>)>;
    std::function<void(const rpc::WorkerAddress& holder, std::vector<LeaseId> leases, NotHeld done)> check_holder;
    // How often holders are asked about the task leases granted to them longer ago than this.
    int64_t check_holders_every_ms = 30'000;
    // A holder that cannot be reached this many checks in a row is taken for gone: its leases
    // end (and their workers, which it may still use if it is only cut off).
    int unreachable_checks_before_gone = 3;
  };
  // Answers whether a job may run here: OK, or NotFound / FailedPrecondition (finished).
  using JobCheck = std::function<void(const JobId&, std::function<void(absl::Status)>)>;

  // `prepare_job` readies what a job's workers need on this node (its working_dir) before the
  // first one starts here; a RuntimeEnvSetupError from it fails the lease as
  // RUNTIME_ENV_SETUP_FAILED. Only leases granted here wait for it, not those sent on.
  LeaseManager(boost::asio::io_context& io, Options options, NodeResources& resources, WorkerProvider& pool,
               ClusterView& cluster, JobCheck check_job, JobCheck prepare_job = nullptr);

  void Start();
  // Answers every open request UNAVAILABLE.
  void Stop();

  void RequestLease(const rpc::RequestWorkerLeaseRequest& request, rpc::RequestWorkerLeaseReply* reply,
                    rpc::ReplyCallback done);
  void CancelLease(const rpc::CancelWorkerLeaseRequest& request, rpc::CancelWorkerLeaseReply* reply,
                   rpc::ReplyCallback done);
  void ReturnWorker(const rpc::ReturnWorkerRequest& request, rpc::ReturnWorkerReply* reply, rpc::ReplyCallback done);
  // A leased worker blocks in Get/Wait: its CPUs are lent to the node until it unblocks.
  absl::Status SetBlocked(const WorkerId& worker_id, bool blocked);

  // A leased worker died: its lease ends and its resources return.
  void OnWorkerDied(const std::shared_ptr<Worker>& worker);
  // The holder of leases died (or its node did): its queued requests are dropped and its
  // workers ended.
  void OnHolderDied(const WorkerId& holder) { EndLeasesOfHolder(holder, {}, "its lease holder died"); }
  // Ends the leases `holder` holds here (their workers killed, giving `reason`) and drops its
  // queued requests, except the leases in `keep`. Answers how many ended.
  int EndLeasesOfHolder(const WorkerId& holder, const absl::flat_hash_set<LeaseId>& keep, const std::string& reason);
  void OnHolderNodeDied(const NodeId& node);
  void OnJobFinished(const JobId& job);
  // The bundles of `group` on this node go: leases using its resources end (their workers
  // are killed), and requests waiting for them fail naming the group.
  void EndLeasesOfGroup(const PlacementGroupId& group);
  // The cluster changed: infeasible requests may now spill back, or no longer be infeasible.
  void OnClusterChanged() { Dispatch(); }

  std::vector<rpc::ResourceDemand> Demands() const;
  int num_pending() const;
  int num_granted() const;
  // Adds the leases granted here (with their workers and holders) to `state`: what this node
  // reports when it registers again with a restarted GCS.
  void ReportGranted(rpc::HostedState* state) const;
  // The worker the memory monitor kills (null when none runs): of the holders with task leases
  // here, the one with the most, and of its leases the newest; an actor's worker (the newest)
  // only when no task lease is left. Workers being ended already are passed over.
  std::shared_ptr<Worker> PickWorkerToKillForMemory() const;
  int64_t total_granted() const { return total_granted_; }
  int lent_cpus() const { return lent_cpus_; }

  // Called whenever available resources or demand change (for prompt reporting).
  void set_on_change(std::function<void()> on_change) { on_change_ = std::move(on_change); }

 private:
  // What leases of one holder's scheduling key share: that holder runs the tasks of a waiting
  // request on a granted lease of the same shape anyway, once it is idle.
  struct Shape {
    std::string holder;  // WorkerId, binary
    std::string resources;
    std::string strategy;
    std::map<std::string, std::string> env_vars;
    friend bool operator==(const Shape&, const Shape&) = default;
  };
  struct Lease {
    enum class State { kQueued, kDispatched, kGranted };
    LeaseId id;
    rpc::LeaseSpec spec;
    ResourceSet demand;
    WorkerId holder;
    NodeId holder_node;
    State state = State::kQueued;
    // Its place in the order of grants here (total_granted_ when granted): newer is larger.
    int64_t grant_order = 0;
    int64_t granted_at_ms = 0;
    bool infeasible = false;
    // The open call wants PENDING at once if the lease cannot be granted now.
    bool answer_if_queued = false;
    std::optional<Allocation> allocation;
    std::shared_ptr<Worker> worker;
    bool lent = false;
    // Set once, at arrival: compared with every other lease while requests wait.
    Shape shape;
    // Its holder was asked to give it back once idle (Options::ask_to_yield).
    bool yield_asked = false;
    // Queued for resources of this node that are not free (not for another node's).
    bool waits_here = false;
    // The open call waiting on this lease, if any.
    rpc::RequestWorkerLeaseReply* reply = nullptr;
    rpc::ReplyCallback done;
    std::unique_ptr<boost::asio::steady_timer> wait_timer;
    // Since when no call of its requester is open: a queued request not asked again, or a grant
    // made while no call was open and not yet claimed. 0 while a call is open, and once a grant
    // was sent.
    int64_t detached_since_ms = 0;
  };

  // Where a queued lease goes now, by its strategy and the cluster view (`others`: the other
  // nodes' snapshots).
  struct Route {
    enum Kind { kHere, kSpill, kWait, kFail } kind;
    NodeId target;             // kSpill
    std::string why;           // kFail: why no node may ever grant it
    bool infeasible = false;   // kWait: no node could ever hold it
  };
  Route RouteOf(const Lease& lease, const std::vector<NodeSnapshot>& others);

  absl::Status Validate(const rpc::LeaseSpec& spec, ResourceSet* demand) const;
  void Enqueue(const rpc::RequestWorkerLeaseRequest& request, ResourceSet demand, rpc::RequestWorkerLeaseReply* reply,
               rpc::ReplyCallback done);
  void Attach(Lease& lease, rpc::RequestWorkerLeaseReply* reply, rpc::ReplyCallback done,
              const rpc::RequestWorkerLeaseRequest& request);
  void AnswerPending(Lease& lease);
  // A failure the holder acts on (UNSCHEDULABLE, RUNTIME_ENV_SETUP_FAILED): a result with its
  // reason, rather than an RPC error.
  void AnswerFailure(Lease& lease, rpc::RequestWorkerLeaseReply::Result result, absl::string_view why);
  // Readies the job on this node, then asks the pool for the lease's worker.
  void PopWorkerFor(const Lease& lease);
  // Answers PENDING now, when the open call asked to hear at once that the lease must queue.
  void AnswerIfQueued(Lease& lease);
  void Answer(Lease& lease, const absl::Status& status);
  // Answers `lease` with SPILLBACK to `target` (a node in the cluster view); the caller drops it.
  void SpillBack(Lease& lease, const NodeId& target);
  void FillGrant(const Lease& lease, rpc::RequestWorkerLeaseReply* reply) const;
  void Dispatch();
  // Asks the holders of granted leases that hold what requests queued here for resources need
  // to give them back once idle; a holder's own requests of the same shape do not count. After
  // each scheduling pass and each grant (a lease granted while others wait may sit idle).
  void AskToYield();
  void OnWorkerReady(const LeaseId& lease_id, absl::StatusOr<std::shared_ptr<Worker>> worker);
  void Release(Lease& lease);
  // Ends a lease: releases what it holds, forgets it, remembers its id; then grants what now
  // fits unless the caller ends more leases first (`dispatch` false) and dispatches itself.
  void Finish(const LeaseId& lease_id, bool dispatch = true);
  WorkerKey KeyFor(const Lease& lease) const;
  void DropAbandoned();
  void ScheduleSweep();
  // Asks each holder of task leases granted longer than check_holders_every_ms ago whether it
  // holds them (lease_holder_checks.cc).
  void CheckHolders();
  void OnHolderChecked(const WorkerId& holder, const std::vector<LeaseId>& asked,
                       absl::StatusOr<std::vector<LeaseId>> not_held);
  void Changed();

  boost::asio::io_context& io_;
  const Options options_;
  NodeResources& resources_;
  WorkerProvider& pool_;
  ClusterView& cluster_;
  JobCheck check_job_;
  JobCheck prepare_job_;
  absl::flat_hash_map<LeaseId, std::unique_ptr<Lease>> leases_;
  std::deque<LeaseId> queue_;
  // Ids of leases that ended, so a late retry of their request is not granted again.
  absl::flat_hash_set<LeaseId> finished_;
  std::deque<LeaseId> finished_order_;
  int lent_cpus_ = 0;
  int64_t total_granted_ = 0;
  uint64_t spread_turn_ = 0;  // SPREAD's round-robin among equally used nodes
  boost::asio::steady_timer sweep_timer_;
  int64_t last_holder_check_ms_ = 0;
  // Holders that could not be reached, with how many checks in a row.
  absl::flat_hash_map<WorkerId, int> unreachable_holders_;
  std::function<void()> on_change_;
  bool stopped_ = false;
};

}  // namespace orrery::raylet
