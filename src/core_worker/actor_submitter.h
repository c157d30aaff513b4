// ActorSubmitter: how a process calls actors. Calls to one actor go straight to the actor's
// worker over one stream (not through the GCS or a raylet), numbered per caller so the actor
// runs them in submission order. What the actor is doing comes from the GCS by long polls:
// while it is pending or restarting its calls wait; when its process dies, the calls it had are
// sent again to the next incarnation while their retry budget allows, else fail; a connection
// cut with the actor still alive is reopened and the unanswered calls resent (the actor answers
// a call it already ran from its cache); once the actor is dead for good, every call fails with
// ActorDiedError saying why.
// Thread-safe: Enqueue/Ready run on user threads, stream events on gRPC threads, GCS answers on
// the core worker's loop; one mutex guards the state and callbacks run outside it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "orrery/core_worker.grpc.pb.h"
#include "orrery/gcs.pb.h"
#include "src/common/event_loop.h"
#include "src/common/id.h"
#include "src/core_worker/task_submitter.h"
#include "src/core_worker/worker_stream.h"
#include "src/core_worker/worker_stubs.h"
#include "src/gcs/client/gcs_client.h"
#include "src/rpc/in_flight.h"
#include "src/rpc/rpc_options.h"

namespace orrery::core {

class ActorSubmitter : public std::enable_shared_from_this<ActorSubmitter> {
 public:
  struct Options {
    std::string cluster_token;
    rpc::RpcOptions rpc;
    // How long one GCS long poll on an actor's state is held.
    int64_t poll_ms = 30'000;
    // After a broken stream: how long to wait for news of the actor before reconnecting to
    // the same process (a cut connection), so a dead process is not dialled in a tight loop.
    int64_t reconnect_wait_ms = 200;
    // Fault injection for tests: cut the stream to an actor after every this many results
    // (0: never). Set by ORRERY_TESTING_CUT_ACTOR_STREAM_EVERY.
    int64_t testing_cut_stream_every = 0;
    // The node this process runs on: its actors are reached over Unix sockets (worker_target.h).
    NodeId local_node;
  };
  using Callbacks = TaskSubmitter::Callbacks;

  ActorSubmitter(Options options, std::shared_ptr<EventLoop> loop, gcs::GcsClient& gcs, WorkerId self,
                 Callbacks callbacks);
  ~ActorSubmitter();

  // Numbers a call to `actor` and queues it; it is sent once Ready() (its arguments resolved)
  // and every earlier call to the actor is sent. Fails it at once (returning false) when the
  // actor is known dead.
  bool Enqueue(const ActorId& actor, std::shared_ptr<rpc::TaskSpec> task);
  void Ready(const ActorId& actor, int64_t sequence_number);
  // This process killed the actor for good (the GCS confirmed): calls fail from now on.
  void NoteKilled(const ActorId& actor, const std::string& message);
  // Fails what is unanswered and ends the streams.
  void Stop();

 private:
  struct Call {
    std::shared_ptr<rpc::TaskSpec> task;
    bool ready = false;
    // The incarnation (restart count) it was sent to, or -1 while unsent.
    int sent_to = -1;
  };
  struct ActorState {
    ActorId id;
    int64_t next_sequence = 1;
    // Unanswered calls, by sequence number.
    std::map<int64_t, Call> calls;
    rpc::ActorInfo info;
    bool known = false;
    bool polling = false;
    bool dead = false;
    std::shared_ptr<WorkerStream> stream;
    // The incarnation the stream reaches; bumped epochs tell an old stream's events apart.
    int stream_incarnation = -1;
    uint64_t stream_epoch = 0;
    int64_t results_on_stream = 0;
  };
  using Failed = std::vector<std::pair<rpc::TaskSpec, rpc::ErrorInfo>>;

  void PollLocked(ActorState& actor, int64_t wait_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnActorInfo(const ActorId& id, absl::StatusOr<rpc::GetActorInfoReply> reply);
  void ApplyStateLocked(ActorState& actor, Failed& failed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Calls sent to an incarnation older than the actor's now: sent again while their retry
  // budget allows, else failed.
  void RetryOrFailLocked(ActorState& actor, Failed& failed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ConnectLocked(ActorState& actor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FlushLocked(ActorState& actor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FailAllLocked(ActorState& actor, const rpc::ErrorInfo& error, Failed& failed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnResults(const ActorId& id, uint64_t epoch, rpc::ResultBatch& results);
  void OnStreamDone(const ActorId& id, uint64_t epoch, const grpc::Status& status);
  void Report(Failed& failed);

  const Options options_;
  std::shared_ptr<EventLoop> loop_;
  gcs::GcsClient& gcs_;
  const WorkerId self_;
  Callbacks callbacks_;
  rpc::InFlight streams_;

  absl::Mutex mu_;
  absl::flat_hash_map<ActorId, ActorState> actors_ ABSL_GUARDED_BY(mu_);
  WorkerStubs stubs_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

// The ActorDiedError a call gets: the actor's id and its death, as the GCS recorded it.
rpc::ErrorInfo ActorDiedErrorInfo(const rpc::ActorInfo& actor, const std::string& function);

// What an actor call still waiting when the process shuts down fails with.
rpc::ErrorInfo ActorShutdownErrorInfo();

}  // namespace orrery::core
