#include "src/core_worker/worker_stream.h"

#include "src/rpc/rpc_options.h"

namespace orrery::core {

std::shared_ptr<WorkerStream> WorkerStream::Open(rpc::CoreWorkerService::Stub* stub, const std::string& cluster_token,
                                                 Callbacks callbacks, rpc::InFlight::Token token) {
  std::shared_ptr<WorkerStream> stream(new WorkerStream(std::move(callbacks), std::move(token)));
  stream->self_ = stream;
  if (!cluster_token.empty()) stream->context_.AddMetadata(rpc::kTokenMetadataKey, cluster_token);
  stub->async()->PushTasks(&stream->context_, stream.get());
  // Released when the reads end (OnReadDone(false)), after which nothing starts a write.
  stream->AddHold();
  stream->StartRead(&stream->incoming_);
  stream->StartCall();
  return stream;
}

void WorkerStream::Send(const rpc::TaskSpec& task) {
  absl::MutexLock lock(&mu_);
  if (ending_ || closing_) return;
  *queued_.add_tasks() = task;
  queued_bytes_ += task.ByteSizeLong();
  if (!write_in_flight_) StartNextWriteLocked();
}

void WorkerStream::Steal(int count) {
  absl::MutexLock lock(&mu_);
  if (ending_ || closing_) return;
  // Carried by the write that takes the last task queued before it (see below).
  queued_.set_steal(queued_.steal() + count);
  if (!write_in_flight_) StartNextWriteLocked();
}

void WorkerStream::SetReceivedBelow(int64_t seq) {
  absl::MutexLock lock(&mu_);
  received_below_ = seq;
}

void WorkerStream::StartNextWriteLocked() {
  writing_.Clear();
  if (queued_.tasks_size() <= kMaxBatchTasks && queued_bytes_ <= kMaxBatchBytes) {
    writing_.Swap(&queued_);
    queued_bytes_ = 0;
  } else {
    // Take a capped prefix; the rest goes with the next write.
    size_t bytes = 0;
    int take = 0;
    while (take < queued_.tasks_size() && take < kMaxBatchTasks &&
           (take == 0 || bytes + queued_.tasks(take).ByteSizeLong() <= kMaxBatchBytes)) {
      bytes += queued_.tasks(take).ByteSizeLong();
      ++take;
    }
    // The steal stays queued: it follows the tasks sent before it.
    for (int i = 0; i < take; ++i) writing_.add_tasks()->Swap(queued_.mutable_tasks(i));
    queued_.mutable_tasks()->DeleteSubrange(0, take);
    queued_bytes_ -= std::min(queued_bytes_, bytes);
  }
  writing_.set_received_below(received_below_);
  write_in_flight_ = true;
  StartWrite(&writing_);
}

void WorkerStream::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  write_in_flight_ = false;
  if (!ok) {
    ending_ = true;  // OnReadDone(false) and OnDone follow
    return;
  }
  if (ending_) return;
  if (queued_.tasks_size() > 0 || queued_.steal() > 0) {
    StartNextWriteLocked();
  } else if (closing_) {
    StartWritesDone();
  }
}

void WorkerStream::Close() {
  absl::MutexLock lock(&mu_);
  if (closing_ || ending_) return;
  closing_ = true;
  if (!write_in_flight_ && queued_.tasks_size() == 0 && queued_.steal() == 0) StartWritesDone();
}

void WorkerStream::OnReadDone(bool ok) {
  if (!ok) {
    {
      absl::MutexLock lock(&mu_);
      ending_ = true;
    }
    RemoveHold();  // OnDone follows once the write in flight (if any) completes
    return;
  }
  callbacks_.on_results(incoming_);
  incoming_.Clear();
  StartRead(&incoming_);
}

void WorkerStream::OnDone(const grpc::Status& status) {
  callbacks_.on_done(status);
  callbacks_ = Callbacks();
  self_.reset();  // may destroy this
}

}  // namespace orrery::core
