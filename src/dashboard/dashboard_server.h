// The web dashboard the GCS serves on --dashboard-port: its pages (compiled in), the JSON API
// under /api/v0/ (dashboard_api.h), and who may use either (dashboard_auth.h).
//
// Without a session a page redirects to /login?next=<page> and the API answers 401; the login
// page and /static/ (code and style, no data) are open. Every answer forbids framing and
// foreign scripts (Content-Security-Policy), and the API's are never cached.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "src/dashboard/dashboard_api.h"
#include "src/dashboard/dashboard_auth.h"
#include "src/http/http_server.h"

namespace orrery::dashboard {

// What the API answers a method on a path (after /api/v0) with a query: DashboardApi, or a
// test's stand-in.
using ApiHandler = std::function<ApiReply(const std::string& method, const std::string& path, const Query& query)>;

// Whether a one-time login link's nonce is good, spending it (DashboardApi::RedeemLoginLink).
using LinkRedeemer = std::function<bool(const std::string& nonce)>;

// Answers one request: pages, static files, login and logout, and the API behind `auth`.
// Thread-safe (auth is; `api` and `redeem` must be).
class DashboardHandler {
 public:
  DashboardHandler(DashboardAuth& auth, ApiHandler api, LinkRedeemer redeem)
      : auth_(auth), api_(std::move(api)), redeem_(std::move(redeem)) {}
  http::Response operator()(const http::Request& request, const http::RequestContext& context) const;

 private:
  http::Response Api(const http::Request& request, const http::RequestContext& context, const std::string& path,
                     const Query& query) const;
  http::Response LogIn(const http::Request& request, const http::RequestContext& context) const;
  http::Response Page(const http::Request& request, const std::string& path, const std::string& target) const;

  DashboardAuth& auth_;
  const ApiHandler api_;
  const LinkRedeemer redeem_;
};

// `target` ("/logs?node_id=ab&file=x%20y") split into its path and its decoded parameters.
struct Target {
  std::string path;
  Query query;
};
Target ParseTarget(const std::string& target);

struct DashboardOptions {
  std::string host;
  int port = 0;  // 0: a free port
  std::shared_ptr<const rpc::TlsConfig> tls;  // null: plain HTTP
  std::string token;
};

class DashboardServer {
 public:
  // Serves `api` behind the token. A taken port is AlreadyExists naming --dashboard-port.
  static absl::StatusOr<std::unique_ptr<DashboardServer>> Start(DashboardOptions options,
                                                               std::unique_ptr<DashboardApi> api);
  ~DashboardServer() = default;  // server_ goes first (declared last): nothing it calls is gone

  int port() const { return server_->port(); }
  bool https() const { return server_->https(); }

 private:
  DashboardServer() = default;

  std::unique_ptr<DashboardApi> api_;
  std::unique_ptr<DashboardAuth> auth_;
  std::unique_ptr<http::HttpServer> server_;  // last: stopped first, before what it calls
};

}  // namespace orrery::dashboard
