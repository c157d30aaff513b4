// WorkerStream: an owner's persistent stream to one leased worker (PushTasks). Tasks queue here
// and each write carries all that queued (up to a cap), because the callback API allows one
// write in flight per stream. Results and the stream's end reach the callbacks on gRPC threads.
// Thread-safe: Send() is called from user threads, the completions come from gRPC.
// Writes start outside gRPC's reactions, so the stream holds itself open (AddHold) until its
// reads end: without the hold gRPC may destroy the call between a failed write and OnDone
// while a user thread starts the next write (a double free inside gRPC).
#pragma once

#include <functional>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "grpcpp/support/client_callback.h"
#include "orrery/core_worker.grpc.pb.h"
#include "src/rpc/in_flight.h"

namespace orrery::core {

class WorkerStream final : public grpc::ClientBidiReactor<rpc::TaskBatch, rpc::ResultBatch> {
 public:
  struct Callbacks {
    std::function<void(rpc::ResultBatch&)> on_results;
    // The stream ended: OK after Close(), an error when the worker (or the connection) died.
    std::function<void(const grpc::Status&)> on_done;
  };
  // A write carries at most this much.
  static constexpr int kMaxBatchTasks = 1000;
  static constexpr size_t kMaxBatchBytes = 4 << 20;

  // Opens the stream. `token` keeps the owner waiting for the stream's end before it releases
  // the channel (see rpc/in_flight.h).
  static std::shared_ptr<WorkerStream> Open(rpc::CoreWorkerService::Stub* stub, const std::string& cluster_token,
                                            Callbacks callbacks, rpc::InFlight::Token token);

  void Send(const rpc::TaskSpec& task);
  // Normal-task streams: asks the worker for up to `count` tasks back that have not started
  // (the answer comes with the results, as ResultBatch.stolen).
  void Steal(int count);
  // Actor streams: every later write tells the actor the caller has all results below `seq`.
  void SetReceivedBelow(int64_t seq);
  // No more tasks: the worker finishes what it has and ends the stream.
  void Close();
  // Ends the stream now (tasks in flight are lost).
  void Cancel() { context_.TryCancel(); }

  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnWritesDoneDone(bool ok) override {}
  void OnDone(const grpc::Status& status) override;

 private:
  WorkerStream(Callbacks callbacks, rpc::InFlight::Token token)
      : token_(std::move(token)), callbacks_(std::move(callbacks)) {}
  void StartNextWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // First member: released last, after the context below (which holds a channel reference).
  rpc::InFlight::Token token_;
  Callbacks callbacks_;
  grpc::ClientContext context_;
  absl::Mutex mu_;
  rpc::TaskBatch queued_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t received_below_ ABSL_GUARDED_BY(mu_) = 0;
  rpc::TaskBatch writing_;
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  // The stream is ending (a read or a write failed): nothing more is started on it.
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  rpc::ResultBatch incoming_;
  std::shared_ptr<WorkerStream> self_;
};

}  // namespace orrery::core
