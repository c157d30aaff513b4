// Publisher: the GCS's change feed. Each channel numbers its messages (per-channel sequence)
// and keeps a bounded history, so a subscriber that reconnects with the last number it saw
// gets exactly what it missed; one that fell too far behind (or knew another GCS instance)
// gets a snapshot of the channel's current state instead.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "orrery/gcs.pb.h"

namespace orrery::gcs {

// Where a subscriber's messages go: a gRPC server stream in the GCS, a recorder in tests.
class SubscriberSink {
 public:
  virtual ~SubscriberSink() = default;
  // Queues one message; false when the subscriber is too far behind (the publisher drops it,
  // and it catches up from a snapshot when it reconnects).
  virtual bool Send(const rpc::PubsubMessage& message) = 0;
  // Ends the subscription with `status`.
  virtual void Close(const absl::Status& status) = 0;
};

// Owned and called by the GCS event loop only.
class Publisher {
 public:
  struct Options {
    // Messages kept per channel for subscribers that reconnect.
    size_t history_per_channel = 1000;
  };

  // The channel's current state as payload-only messages (for state channels: one per node or
  // job), or the retained events (for event channels), sent to a subscriber that must resync.
  using SnapshotFn = std::function<std::vector<rpc::PubsubMessage>()>;

  Publisher(Options options, std::string gcs_instance_id);

  // `is_state` channels describe current state (nodes, jobs): a new subscriber gets a snapshot.
  // Event channels (worker deaths) give a new subscriber only what happens from now on.
  void RegisterChannel(rpc::Channel channel, bool is_state, SnapshotFn snapshot);

  // Stamps `message` with its channel, the next sequence number and `key`, keeps it in the
  // history and sends it to every subscriber of the channel (and key).
  void Publish(rpc::Channel channel, const std::string& key, rpc::PubsubMessage message);

  // Sends each requested channel's catch-up (replay or snapshot) to `sink`, then live messages.
  // InvalidArgument for an unknown channel.
  absl::Status Subscribe(const std::shared_ptr<SubscriberSink>& sink, const rpc::SubscribeRequest& request);
  void Unsubscribe(const SubscriberSink* sink);

  // Closes every subscription; subscribers reconnect to the next GCS.
  void Stop();

  int64_t CurrentSeq(rpc::Channel channel) const;
  size_t num_subscribers() const { return subscribers_.size(); }
  const std::string& instance_id() const { return instance_id_; }

 private:
  struct ChannelState {
    bool is_state = false;
    SnapshotFn snapshot;
    int64_t seq = 0;
    std::deque<rpc::PubsubMessage> history;
  };
  struct Subscription {
    rpc::Channel channel;
    std::string key;  // empty: every key
  };
  struct Subscriber {
    std::shared_ptr<SubscriberSink> sink;
    std::vector<Subscription> subscriptions;
  };

  // Sends the catch-up for one channel; false if the sink overflowed.
  bool CatchUp(SubscriberSink& sink, const ChannelState& state, const rpc::ChannelSubscription& sub,
               bool same_instance);
  void Drop(const SubscriberSink* sink, const absl::Status& why);

  const Options options_;
  const std::string instance_id_;
  absl::flat_hash_map<int, ChannelState> channels_;
  absl::flat_hash_map<const SubscriberSink*, Subscriber> subscribers_;
};

}  // namespace orrery::gcs
