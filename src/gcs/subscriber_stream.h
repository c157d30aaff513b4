// SubscriberStream: one subscriber's gRPC server stream, as a SubscriberSink.
// Send() and Close() come from the GCS loop, write completions from gRPC threads: a mutex
// guards the queue. The callback API allows one write in flight, so messages queue behind it.
#pragma once

#include <deque>
#include <functional>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "grpcpp/support/server_callback.h"
#include "src/gcs/publisher.h"

namespace orrery::gcs {

class SubscriberStream final : public grpc::ServerWriteReactor<rpc::PubsubMessage>,
                               public SubscriberSink,
                               public std::enable_shared_from_this<SubscriberStream> {
 public:
  // `on_done` runs (on a gRPC thread) once gRPC is finished with the stream.
  static std::shared_ptr<SubscriberStream> Create(size_t max_queued, std::function<void(SubscriberStream*)> on_done);

  bool Send(const rpc::PubsubMessage& message) override;
  void Close(const absl::Status& status) override;

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  SubscriberStream(size_t max_queued, std::function<void(SubscriberStream*)> on_done);
  void StartWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_queued_;
  std::function<void(SubscriberStream*)> on_done_;
  // gRPC holds the reactor by raw pointer until OnDone; this keeps it alive until then.
  std::shared_ptr<SubscriberStream> self_;
  absl::Mutex mu_;
  std::deque<rpc::PubsubMessage> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace orrery::gcs
