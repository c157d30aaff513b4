#include "src/metrics/metrics_server.h"

#include "boost/beast/http.hpp"
#include "src/metrics/exposition.h"

namespace orrery::metrics {

namespace bhttp = boost::beast::http;

http::Response AnswerMetrics(const http::Request& request, const MetricsServer::Render& render) {
  std::string_view target(request.target().data(), request.target().size());
  std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics") {
    return http::TextResponse(request, 404, "not found: this port serves GET /metrics\n");
  }
  if (request.method() != bhttp::verb::get && request.method() != bhttp::verb::head) {
    http::Response response = http::TextResponse(request, 405, "method not allowed: /metrics is read with GET\n");
    response.set(bhttp::field::allow, "GET, HEAD");
    return response;
  }
  http::Response response = http::TextResponse(request, 200, request.method() == bhttp::verb::get ? render() : "");
  response.set(bhttp::field::content_type, kExpositionContentType);
  return response;
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& host, int port,
                                                                    std::shared_ptr<const rpc::TlsConfig> tls,
                                                                    Render render) {
  http::ServerOptions options;
  options.host = host;
  options.port = port;
  options.port_flag = "--metrics-port";
  options.tls = std::move(tls);
  options.max_connections = kMaxConnections;
  auto server = http::HttpServer::Start(std::move(options), [render = std::move(render)](const http::Request& request, const http::RequestContext&) {
    return AnswerMetrics(request, render);
  });
  if (!server.ok()) {
    return absl::Status(server.status().code(), "the metrics port: " + std::string(server.status().message()));
  }
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(*server)));
}

}  // namespace orrery::metrics
