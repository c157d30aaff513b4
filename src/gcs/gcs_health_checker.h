// GcsHealthChecker: asks every alive raylet "are you there?" on a period and declares a node
// dead after a run of misses (default: every 1 s, dead after 5). Tuned so that a network blip
// is not a death, and configurable so tests notice a killed raylet in well under a second.
#pragma once

#include <functional>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "src/common/id.h"
#include "src/raylet/client/raylet_client.h"

namespace orrery::gcs {

// Owned and called by the GCS event loop only; client callbacks must arrive on that loop.
class GcsHealthChecker {
 public:
  struct Options {
    int64_t period_ms = 1000;
    // Per check; 0 means the period.
    int64_t timeout_ms = 0;
    int failure_threshold = 5;
  };
  using ClientFactory = std::function<std::shared_ptr<raylet::RayletClient>(const std::string& address)>;
  using DeathCallback = std::function<void(const NodeId&, const std::string& reason)>;

  GcsHealthChecker(boost::asio::io_context& io, Options options, ClientFactory factory, DeathCallback on_death);
  ~GcsHealthChecker();

  void AddNode(const NodeId& node_id, const std::string& address);
  void RemoveNode(const NodeId& node_id);
  void Stop();

  size_t num_watched() const { return nodes_.size(); }

 private:
  struct Watched {
    std::shared_ptr<raylet::RayletClient> client;
    std::unique_ptr<boost::asio::steady_timer> timer;
    int misses = 0;
    bool in_flight = false;
    // Bumped when the node is removed, so a late answer for an old entry is ignored.
    uint64_t generation = 0;
  };

  void Schedule(const NodeId& node_id);
  void Check(const NodeId& node_id);

  boost::asio::io_context& io_;
  const Options options_;
  ClientFactory factory_;
  DeathCallback on_death_;
  absl::flat_hash_map<NodeId, Watched> nodes_;
  uint64_t next_generation_ = 1;
  bool stopped_ = false;
};

}  // namespace orrery::gcs
