// MetricsServer: `GET /metrics` over plain HTTP on a port of its own, answered with what a
// render function returns (a Registry's exposition), on a thread of its own. Read-only and
// holding no secrets, so it asks for no token: Prometheus scrapers carry none.
//
// A peer gets 10 s to send a request (a slow or silent peer is cut off, not waited for),
// requests are at most 8 KiB, and at most kMaxConnections are served at once (more are closed
// on accept): a scrape target cannot be made to hold unbounded memory.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace orrery::metrics {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;

  // Listens on host:port (0: a free port). AlreadyExists naming the port when it is taken.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& host, int port, Render render);
  ~MetricsServer();  // stops serving and joins the thread
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const;

  static constexpr int kMaxConnections = 64;

 private:
  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace orrery::metrics
