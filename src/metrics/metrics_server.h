// MetricsServer: `GET /metrics` on a port of its own (http_server.h), answered with what a
// render function returns (a Registry's exposition). Read-only and holding no secrets, so it
// asks for no token: Prometheus scrapers carry none. HTTPS with the cluster's certificates when
// TLS is on, so that what a scraper reads cannot be altered on the way (it needs only the CA).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "src/http/http_server.h"

namespace orrery::metrics {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;

  // Listens on host:port (0: a free port); HTTPS when `tls` is set. AlreadyExists naming the
  // port when it is taken.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& host, int port,
                                                              std::shared_ptr<const rpc::TlsConfig> tls,
                                                              Render render);

  int port() const { return server_->port(); }

  static constexpr int kMaxConnections = 64;

 private:
  explicit MetricsServer(std::unique_ptr<http::HttpServer> server) : server_(std::move(server)) {}
  std::unique_ptr<http::HttpServer> server_;
};

// What the endpoint answers `request`: the exposition for GET /metrics (headers only for
// HEAD), 404 for another path, 405 for another method; `render` is called only for a GET.
http::Response AnswerMetrics(const http::Request& request, const MetricsServer::Render& render);

}  // namespace orrery::metrics
