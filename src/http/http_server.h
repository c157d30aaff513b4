// HttpServer: HTTP/1.1 on a port of its own, on a thread of its own (Boost.Beast), every request
// answered by one handler: what serves /metrics (metrics_server.h) and, later, the dashboard.
//
// With a TLS identity it serves HTTPS only, presenting the process's certificate (renewals
// written to its TLS directory are presented from the next connection on) and asking the client
// for none: a scraper or a browser needs only the cluster CA to trust it. A plain request to an
// HTTPS port fails its handshake.
//
// A peer gets 10 s to complete its handshake and each request (a slow or silent peer is cut
// off, not waited for), requests are at most max_request_bytes, and at most max_connections
// are served at once (more are closed on accept): a port open to the network cannot be made to
// hold unbounded memory.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "boost/beast/http/message.hpp"
#include "boost/beast/http/string_body.hpp"
#include "src/rpc/tls_config.h"

namespace orrery::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
// Who asked, for a handler that limits or logs by peer.
struct RequestContext {
  std::string peer;  // the client's IP address
  bool https = false;
};
// Called on the server's thread, one request at a time; or, with handler_threads, on one of
// those, as many at a time.
using Handler = std::function<Response(const Request&, const RequestContext&)>;

struct ServerOptions {
  std::string host;
  int port = 0;  // 0: a free port
  // The flag that sets the port ("--metrics-port"), named when the port is taken.
  std::string port_flag;
  // Null: plain HTTP. Set: HTTPS with this identity, followed through renewals.
  std::shared_ptr<const rpc::TlsConfig> tls;
  size_t max_request_bytes = 8 * 1024;
  int max_connections = 64;
  // 0: the handler runs on the server's one thread (it must answer at once, as /metrics
  // does). N: on a pool of N threads, so that a request whose answer waits on other
  // processes does not hold up every other connection.
  int handler_threads = 0;
};

class HttpServer {
 public:
  // Listens and serves. A taken port is AlreadyExists naming it and the flag; a TLS identity
  // that does not load is InvalidArgument.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(ServerOptions options, Handler handler);
  ~HttpServer();  // stops serving and joins the thread
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  bool https() const;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A response of `status` with a text/plain body, the version and keep-alive of `request`.
Response TextResponse(const Request& request, unsigned status, std::string body);

}  // namespace orrery::http
