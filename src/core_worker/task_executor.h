// TaskExecutor: a worker's side of the task stream. It runs on the stream's own gRPC thread
// (the synchronous streaming API), never on a callback thread. An owner's normal tasks run in
// order, one at a time, while the stream is read on (NormalTaskStream: the owner may take back
// tasks not yet started); results go back all so far in one write, sooner when a task took
// long. A task's failure is its result (a stored error); the worker lives on.
// An actor's worker also holds the actor (CreateActor runs its factory) and runs the calls of
// every caller's stream: a caller's calls run in its sequence order, one at a time across all
// callers (or up to max_concurrency at once on a thread pool); a call resent after a cut
// connection is answered from a cache of results the caller has not yet acknowledged.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/thread_pool.hpp"

#include "absl/status/statusor.h"
#include "grpcpp/support/sync_stream.h"
#include "orrery/core_worker.grpc.pb.h"
#include "orrery/internal/serialized_value.h"
#include "src/common/id.h"
#include "src/core_worker/memory_store.h"
#include "src/core_worker/task_event_buffer.h"

namespace orrery::core {

class TaskExecutor {
 public:
  struct Hooks {
    // The arguments' values: inline ones, or fetched from their owners. An argument that is an
    // error (its task failed, its owner died) fails this task with the same error.
    std::function<std::vector<Value>(const rpc::TaskSpec&)> resolve_args;
    // Registers `receiver` as a borrower of the refs inside `value`, before it is sent.
    std::function<void(const internal::SerializedValue& value, const rpc::WorkerAddress& receiver)> hand_over;
    // Tells the world which task runs now (for Get/Wait inside it).
    std::function<void(const rpc::TaskSpec*)> set_current_task;
    // Writes a large result to the node's object store as the return object's primary copy and
    // returns its marker; null when the result is small enough to go inline.
    std::function<absl::StatusOr<Value>(const rpc::TaskSpec& task, const internal::SerializedValue& value)>
        store_result;
    // The actor ended itself (ExitActor in a method), after that call's result was written.
    std::function<void(const ActorId&)> on_actor_exit;
  };

  // `events` (may be null) records when each task runs and how it ended.
  TaskExecutor(WorkerId worker_id, NodeId node_id, Hooks hooks, TaskEventBuffer* events = nullptr);
  ~TaskExecutor();

  // Serves one PushTasks stream: an owner's normal tasks (see NormalTaskStream), or one
  // caller's calls of the actor held here.
  void Serve(grpc::ServerReaderWriter<rpc::ResultBatch, rpc::TaskBatch>* stream);
  // Runs one task (a function, or a method of the actor held here); never throws.
  rpc::TaskResult Execute(const rpc::TaskSpec& task);
  // Makes this worker the actor: runs its factory (blocking). Once only.
  rpc::CreateActorReply CreateActor(const rpc::CreateActorRequest& request);
  // How many times the actor held here was restarted; -1 when this worker holds none.
  int actor_restarts() const { return actor_restarts_.load(); }

 private:
  class StreamWriter;
  struct Caller {
    bool seen = false;
    // The next sequence number to run.
    int64_t next = 0;
    // Results not yet acknowledged by the caller, and calls running now.
    std::map<int64_t, rpc::TaskResult> done;
    absl::flat_hash_set<int64_t> running;
  };

  // `batch`: the first one, already read.
  void ServeActorCalls(grpc::ServerReaderWriter<rpc::ResultBatch, rpc::TaskBatch>* stream, rpc::TaskBatch batch);
  // Runs an actor call in its caller's order, or answers a resent one: the result goes into
  // `results` (run here), or straight to `writer` (run on the pool). Nothing for a call
  // already acknowledged.
  void RunActorCall(const rpc::TaskSpec& task, int64_t received_below, StreamWriter& writer,
                    rpc::ResultBatch& results);
  rpc::TaskResult ExecuteActorCall(const rpc::TaskSpec& task);
  // Execute() without the events around it. A failure is also left in `failure`, for its event.
  rpc::TaskResult Run(const rpc::TaskSpec& task, std::optional<rpc::ErrorInfo>& failure);
  rpc::CreateActorReply RunCreation(const rpc::CreateActorRequest& request);
  // The RUNNING event of `task`, and the FINISHED or FAILED one for its outcome.
  void RecordRunning(const rpc::TaskSpec& task, rpc::TaskKind kind);
  void RecordOutcome(const rpc::TaskSpec& task, rpc::TaskKind kind, const rpc::ErrorInfo* error);
  void Forget(const std::string& caller, int64_t received_below);
  // Tells the GCS, once, that the actor exited (after the exiting call's result was written).
  void ReportExitIfPending();
  // The result that carries `error`, which first gets where it happened (unless it came from
  // an argument and already says).
  rpc::TaskResult Failed(const rpc::TaskSpec& task, rpc::ErrorInfo& error) const;

  const WorkerId worker_id_;
  const NodeId node_id_;
  Hooks hooks_;
  TaskEventBuffer* const events_;

  // The actor held here (what its factory returned), set once created.
  std::atomic<void*> instance_ = nullptr;
  ActorId actor_id_;
  std::atomic<int> actor_restarts_ = -1;
  int max_concurrency_ = 1;
  std::unique_ptr<boost::asio::thread_pool> pool_;
  // One call at a time when max_concurrency is 1, whichever caller's stream it came on.
  absl::Mutex actor_mu_;
  absl::Mutex callers_mu_;
  absl::CondVar caller_changed_;
  absl::flat_hash_map<std::string, Caller> callers_ ABSL_GUARDED_BY(callers_mu_);
  std::atomic<bool> exited_ = false;
  std::atomic<bool> exit_reported_ = false;
};

}  // namespace orrery::core
