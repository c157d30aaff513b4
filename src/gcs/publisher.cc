#include "src/gcs/publisher.h"

#include "absl/strings/str_cat.h"
#include "src/common/log.h"

namespace orrery::gcs {

Publisher::Publisher(Options options, std::string gcs_instance_id)
    : options_(options), instance_id_(std::move(gcs_instance_id)) {}

void Publisher::RegisterChannel(rpc::Channel channel, bool is_state, SnapshotFn snapshot) {
  ChannelState& state = channels_[channel];
  state.is_state = is_state;
  state.snapshot = std::move(snapshot);
}

int64_t Publisher::CurrentSeq(rpc::Channel channel) const {
  auto it = channels_.find(channel);
  return it == channels_.end() ? 0 : it->second.seq;
}

void Publisher::Publish(rpc::Channel channel, const std::string& key, rpc::PubsubMessage message) {
  auto it = channels_.find(channel);
  if (it == channels_.end()) {
    spdlog::error("publish on unregistered channel {}", rpc::Channel_Name(channel));
    return;
  }
  ChannelState& state = it->second;
  message.set_channel(channel);
  message.set_seq(++state.seq);
  message.set_key(key);
  message.set_gcs_instance_id(instance_id_);
  state.history.push_back(message);
  while (state.history.size() > options_.history_per_channel) state.history.pop_front();

  std::vector<const SubscriberSink*> overflowed;
  for (auto& [ptr, subscriber] : subscribers_) {
    for (const Subscription& sub : subscriber.subscriptions) {
      if (sub.channel != channel || (!sub.key.empty() && sub.key != key)) continue;
      if (!subscriber.sink->Send(message)) overflowed.push_back(ptr);
      break;
    }
  }
  for (const SubscriberSink* sink : overflowed) {
    Drop(sink, absl::ResourceExhaustedError("subscriber fell too far behind; resubscribe to catch up"));
  }
}

bool Publisher::CatchUp(SubscriberSink& sink, const ChannelState& state, const rpc::ChannelSubscription& sub,
                        bool same_instance) {
  const int64_t after = sub.after_seq();
  const int64_t oldest_kept = state.history.empty() ? state.seq + 1 : state.history.front().seq();
  const bool knows_this_instance = same_instance && after > 0 && after <= state.seq;
  if (knows_this_instance && after >= oldest_kept - 1) {
    for (const auto& message : state.history) {
      if (message.seq() <= after) continue;
      if (!sub.key().empty() && message.key() != sub.key()) continue;
      if (!sink.Send(message)) return false;
    }
    return true;
  }
  // A snapshot: the whole state of a state channel; for an event channel, the retained events
  // if the subscriber had seen some before (it may have missed some), else none.
  const bool new_subscriber = after == 0;
  if (state.is_state || !new_subscriber) {
    for (rpc::PubsubMessage message : state.snapshot()) {
      if (!sub.key().empty() && message.key() != sub.key()) continue;
      message.set_channel(sub.channel());
      message.set_seq(state.seq);
      message.set_gcs_instance_id(instance_id_);
      message.set_snapshot(true);
      if (!sink.Send(message)) return false;
    }
  }
  rpc::PubsubMessage end;
  end.set_channel(sub.channel());
  end.set_seq(state.seq);
  end.set_gcs_instance_id(instance_id_);
  end.set_snapshot(true);
  end.set_snapshot_end(true);
  return sink.Send(end);
}

absl::Status Publisher::Subscribe(const std::shared_ptr<SubscriberSink>& sink, const rpc::SubscribeRequest& request) {
  Subscriber subscriber;
  subscriber.sink = sink;
  for (const auto& sub : request.channels()) {
    if (!channels_.contains(sub.channel())) {
      return absl::InvalidArgumentError(absl::StrCat("unknown pubsub channel ", static_cast<int>(sub.channel())));
    }
    subscriber.subscriptions.push_back({sub.channel(), sub.key()});
  }
  const bool same_instance = request.gcs_instance_id() == instance_id_;
  for (const auto& sub : request.channels()) {
    if (!CatchUp(*sink, channels_[sub.channel()], sub, same_instance)) {
      return absl::ResourceExhaustedError("the catch-up does not fit the subscriber's queue");
    }
  }
  subscribers_[sink.get()] = std::move(subscriber);
  return absl::OkStatus();
}

void Publisher::Unsubscribe(const SubscriberSink* sink) { subscribers_.erase(sink); }

void Publisher::Drop(const SubscriberSink* sink, const absl::Status& why) {
  auto it = subscribers_.find(sink);
  if (it == subscribers_.end()) return;
  auto held = it->second.sink;
  subscribers_.erase(it);
  held->Close(why);
}

void Publisher::Stop() {
  auto subscribers = std::move(subscribers_);
  subscribers_.clear();
  for (auto& [ptr, subscriber] : subscribers) subscriber.sink->Close(absl::UnavailableError("the GCS is stopping"));
}

}  // namespace orrery::gcs
