// GcsTestEnv: an event loop driven by hand, the in-memory store and a publisher, as the GCS's
// managers see them; and a way to call a handler and run the loop until it answers.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "boost/asio/io_context.hpp"
#include "boost/asio/post.hpp"
#include "src/gcs/publisher.h"
#include "src/gcs/storage/in_memory_store_client.h"
#include "src/rpc/server_calls.h"

namespace orrery::gcs {

class GcsTestEnv {
 public:
  GcsTestEnv()
      : store([this](std::function<void()> fn) { boost::asio::post(io, std::move(fn)); }),
        publisher({/*history_per_channel=*/100}, "test-instance") {}

  // Runs `handler(request, &reply, done)` and the loop until it answers.
  template <typename Req, typename Reply, typename Handler>
  absl::StatusOr<Reply> Call(Handler handler, const Req& request) {
    Reply reply;
    std::optional<absl::Status> result;
    handler(request, &reply, [&](absl::Status status) { result = status; });
    RunUntil([&] { return result.has_value(); });
    if (!result.has_value()) return absl::DeadlineExceededError("the handler never answered");
    if (!result->ok()) return *result;
    return reply;
  }

  // Runs ready work until `done` holds (or nothing is left to run).
  template <typename Pred>
  void RunUntil(Pred done) {
    while (!done()) {
      io.restart();
      if (io.poll() == 0) return;
    }
  }
  void RunAll() {
    io.restart();
    io.poll();
  }

  boost::asio::io_context io;
  InMemoryStoreClient store;
  Publisher publisher;
};

// Records what a subscriber receives.
class RecordingSink : public SubscriberSink {
 public:
  bool Send(const rpc::PubsubMessage& message) override {
    received.push_back(message);
    return true;
  }
  void Close(const absl::Status& status) override {}
  std::vector<rpc::PubsubMessage> received;
};

}  // namespace orrery::gcs
