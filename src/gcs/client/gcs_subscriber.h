// GcsSubscriber: a process's one subscription stream to the GCS change feed. It remembers the
// last sequence number seen per channel and, when the stream breaks, reconnects with back-off
// and resubscribes from there: the GCS replays what was missed, or sends a snapshot.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "src/common/id.h"
#include "src/gcs/client/gcs_client.h"
#include "src/rpc/in_flight.h"

namespace orrery::gcs {

// Subscribe() before Start(); handlers run in order, where the client's dispatcher says
// (the component's loop). Stop() returns once no handler can run any more.
class GcsSubscriber {
 public:
  using Handler = std::function<void(const rpc::PubsubMessage&)>;

  GcsSubscriber(const GrpcGcsClient& client, WorkerId subscriber_id);
  ~GcsSubscriber();

  // Messages of `channel` (only those with `key`, when not empty) go to `handler`, including
  // snapshot messages and the payload-less snapshot_end marker.
  void Subscribe(rpc::Channel channel, std::string key, Handler handler);

  void Start();
  void Stop();

  bool connected() const;
  int64_t last_seq(rpc::Channel channel) const;
  int reconnects() const;

 private:
  class Stream;
  struct ChannelState {
    std::string key;
    Handler handler;
    int64_t last_seq = 0;
  };

  void Connect() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnMessage(const rpc::PubsubMessage& message);
  void OnStreamDone(const grpc::Status& status);

  const GrpcGcsClient& client_;
  const WorkerId subscriber_id_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int, ChannelState> channels_ ABSL_GUARDED_BY(mu_);
  std::string gcs_instance_id_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<Stream> stream_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<grpc::Alarm> reconnect_alarm_ ABSL_GUARDED_BY(mu_);
  bool reconnect_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = true;
  bool connected_ ABSL_GUARDED_BY(mu_) = false;
  int attempts_ ABSL_GUARDED_BY(mu_) = 0;
  int reconnects_ ABSL_GUARDED_BY(mu_) = 0;
  rpc::InFlight streams_;
};

}  // namespace orrery::gcs
