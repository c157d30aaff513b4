// NormalTaskStream: a worker's side of one owner's stream of normal tasks. The tasks an owner
// pipelines to a busy worker wait here, and the owner can take back those not yet started
// (TaskBatch.steal) to run them on a worker that went free: so the stream is read while a task
// runs, not only between tasks. Exactly once: a task leaves the queue under the lock either to
// run or to be given back, never both.
//
// Two threads serve the stream, the gRPC handler's and one of its own, and swap roles
// (leader/follower): the thread whose read brings tasks to an idle stream runs them itself, so
// a task never waits for a hand-over between threads, and the other takes over reading within
// a few milliseconds while it runs.
//
// A task that waits for other work (a Get, or resolving its arguments) may wait for a task queued
// behind it here: while it waits the stream gives back everything queued behind it, and what
// arrives meanwhile, and tells the owner to send nothing more until it runs again.
#pragma once

#include <chrono>
#include <deque>
#include <functional>

#include "absl/synchronization/mutex.h"
#include "grpcpp/support/sync_stream.h"
#include "orrery/core_worker.pb.h"

namespace orrery::core {

// A worker writes the results it has gathered at the end of each batch it read, or sooner once
// this much time has passed since its last write (normal-task and actor streams alike).
inline constexpr std::chrono::milliseconds kMaxResultDelay{2};

class NormalTaskStream {
 public:
  using Stream = grpc::ServerReaderWriterInterface<rpc::ResultBatch, rpc::TaskBatch>;
  using Execute = std::function<rpc::TaskResult(const rpc::TaskSpec&)>;

  // Serves `stream` until the owner closes it and every task has run or been given back, or
  // until it breaks. `first`: a batch already read from it. Returns when both threads are done.
  static void Serve(Stream& stream, rpc::TaskBatch first, const Execute& execute);

  // Called on the thread of a running task when it begins (`blocked`) or ends waiting for
  // other work. Does nothing on a thread that runs no task of a normal-task stream (an actor's).
  static void RunningTaskBlocked(bool blocked);

 private:
  NormalTaskStream(Stream& stream, const Execute& execute) : stream_(stream), execute_(execute) {}

  // One thread's loop: run what is queued, else read, else wait for the other thread.
  void Work();
  // Runs queued tasks until none is left, writing their results as each batch read is done
  // (or every kMaxResultDelay).
  void RunLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TakeLocked(rpc::TaskBatch& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes the `count` newest unstarted tasks out of the queue and names them in `reply`.
  void GiveBackLocked(size_t count, rpc::ResultBatch& reply) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetBlocked(bool blocked) ABSL_LOCKS_EXCLUDED(mu_);
  // Writes outside the lock (reads and writes may overlap; writes may not).
  void WriteUnlocked(const rpc::ResultBatch& results) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Stream& stream_;
  const Execute& execute_;
  absl::Mutex write_mu_;
  absl::Mutex mu_;
  absl::CondVar changed_;
  struct Queued {
    rpc::TaskSpec task;
    // The last of a batch read: its results go back together once it is done.
    bool ends_batch = false;
  };
  std::deque<Queued> unstarted_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool executing_ ABSL_GUARDED_BY(mu_) = false;
  // The running task waits for other work: nothing waits behind it.
  bool blocked_ ABSL_GUARDED_BY(mu_) = false;
  // The owner closed the stream (no more reads).
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  // A write failed: the owner is gone, and queued tasks are dropped.
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace orrery::core
