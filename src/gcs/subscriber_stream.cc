#include "src/gcs/subscriber_stream.h"

#include "src/rpc/status_conversion.h"

namespace orrery::gcs {

std::shared_ptr<SubscriberStream> SubscriberStream::Create(size_t max_queued,
                                                           std::function<void(SubscriberStream*)> on_done) {
  std::shared_ptr<SubscriberStream> stream(new SubscriberStream(max_queued, std::move(on_done)));
  stream->self_ = stream;
  return stream;
}

SubscriberStream::SubscriberStream(size_t max_queued, std::function<void(SubscriberStream*)> on_done)
    : max_queued_(max_queued), on_done_(std::move(on_done)) {}

bool SubscriberStream::Send(const rpc::PubsubMessage& message) {
  absl::MutexLock lock(&mu_);
  if (finished_) return true;  // going away; nothing more to deliver
  if (queue_.size() >= max_queued_) return false;
  queue_.push_back(message);
  if (!writing_) StartWriteLocked();
  return true;
}

void SubscriberStream::StartWriteLocked() {
  writing_ = true;
  StartWrite(&queue_.front());
}

void SubscriberStream::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  writing_ = false;
  if (!queue_.empty()) queue_.pop_front();
  if (!ok) {
    // The client went away; OnDone follows once we finish.
    if (!finished_) {
      finished_ = true;
      Finish(grpc::Status::CANCELLED);
    }
    return;
  }
  if (!queue_.empty() && !finished_) StartWriteLocked();
}

void SubscriberStream::Close(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  finished_ = true;
  // A write may be in flight; gRPC completes it before it delivers the status.
  Finish(rpc::ToGrpcStatus(status));
}

void SubscriberStream::OnCancel() {
  absl::MutexLock lock(&mu_);
  if (finished_) return;
  finished_ = true;
  Finish(grpc::Status::CANCELLED);
}

void SubscriberStream::OnDone() {
  auto on_done = std::move(on_done_);
  if (on_done) on_done(this);
  self_.reset();
}

}  // namespace orrery::gcs
