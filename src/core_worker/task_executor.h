// TaskExecutor: a worker's side of the task stream. It runs on the stream's own gRPC thread
// (the synchronous streaming API), never on a callback thread: it reads a batch, runs each task
// in order, and writes results back — all results so far in one write, sooner when a task took
// long. A task's failure is its result (a stored error); the worker lives on.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/support/sync_stream.h"
#include "orrery/core_worker.grpc.pb.h"
#include "orrery/internal/serialized_value.h"
#include "src/common/id.h"
#include "src/core_worker/memory_store.h"

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
  };

  TaskExecutor(WorkerId worker_id, NodeId node_id, Hooks hooks);

  void Serve(grpc::ServerReaderWriter<rpc::ResultBatch, rpc::TaskBatch>* stream);
  // Runs one task; never throws.
  rpc::TaskResult Execute(const rpc::TaskSpec& task);

 private:
  rpc::ErrorInfo TaskError(const rpc::TaskSpec& task, const std::string& type, const std::string& what) const;

  const WorkerId worker_id_;
  const NodeId node_id_;
  Hooks hooks_;
};

// "std::logic_error" for the exception being handled.
std::string CurrentExceptionTypeName();

}  // namespace orrery::core
