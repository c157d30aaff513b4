// Subscription: a test's view of one GCS channel, to wait on events (a node's death, a
// worker's) instead of polling for them.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "src/gcs/client/gcs_subscriber.h"

namespace orrery::testing {

class Subscription {
 public:
  Subscription(const gcs::GrpcGcsClient& client, rpc::Channel channel, std::string key = "")
      : subscriber_(client, WorkerId::FromRandom()) {
    subscriber_.Subscribe(channel, std::move(key), [this](const rpc::PubsubMessage& message) {
      absl::MutexLock lock(&mu_);
      messages_.push_back(message);
    });
    subscriber_.Start();
  }
  ~Subscription() { subscriber_.Stop(); }

  // The first message (seen before or arriving within `timeout_ms`) that matches, consumed.
  std::optional<rpc::PubsubMessage> WaitFor(const std::function<bool(const rpc::PubsubMessage&)>& match,
                                            int64_t timeout_ms = 10'000) {
    absl::MutexLock lock(&mu_);
    // absl evaluates a condition any number of times, on any thread: it must not consume.
    auto any_match = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return std::any_of(messages_.begin(), messages_.end(), match);
    };
    mu_.AwaitWithTimeout(absl::Condition(&any_match), absl::Milliseconds(timeout_ms));
    auto it = std::find_if(messages_.begin(), messages_.end(), match);
    if (it == messages_.end()) return std::nullopt;
    rpc::PubsubMessage found = *it;
    messages_.erase(it);
    return found;
  }

  gcs::GcsSubscriber& subscriber() { return subscriber_; }

 private:
  absl::Mutex mu_;
  std::deque<rpc::PubsubMessage> messages_ ABSL_GUARDED_BY(mu_);
  gcs::GcsSubscriber subscriber_;
};

}  // namespace orrery::testing
