// RemoteRaylets: one client for each raylet of another node this process talks to, shared by
// the task submitter (lease requests near a task's arguments, and after a spillback) and the
// node directory (freeing an object's copies there), so a remote raylet costs one connection,
// not one per user. A raylet that stops answering is given up on sooner than the local one
// (retry_budget_ms): the caller falls back on the local raylet, which knows other nodes.
// Clients are kept until Stop(). Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "src/raylet/client/raylet_client.h"

namespace orrery::core {

class RemoteRaylets {
 public:
  // About the time the GCS takes to declare a silent node dead (5 missed health checks a second
  // apart): retries past it would wait on a node that is gone.
  static constexpr int64_t kDefaultRetryBudgetMs = 5'000;

  // `options` serve every client: its peer_name is filled in per raylet, and its retry budget is
  // cut to `retry_budget_ms`.
  explicit RemoteRaylets(rpc::ClientOptions options, int64_t retry_budget_ms = kDefaultRetryBudgetMs);

  // The client of the raylet at `address` ("host:port"), made on first use.
  std::shared_ptr<raylet::GrpcRayletClient> At(const std::string& address);
  // Drops every client (each waits for its calls first, see rpc/in_flight.h).
  void Stop();

 private:
  rpc::ClientOptions options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<raylet::GrpcRayletClient>> clients_ ABSL_GUARDED_BY(mu_);
};

}  // namespace orrery::core
