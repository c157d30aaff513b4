#include "src/dashboard/dashboard_server.h"

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "boost/beast/http/field.hpp"
#include "boost/beast/http/verb.hpp"
#include "spdlog/spdlog.h"
#include "src/common/percent_encoding.h"
#include "src/dashboard/dashboard_assets.h"

namespace orrery::dashboard {

namespace {

namespace bhttp = boost::beast::http;

constexpr char kApiPrefix[] = "/api/v0";
// Two: a page's poll waits on the GCS (and the objects page on every raylet) while another
// page's static files are served. More would let one browser flood the GCS.
constexpr int kHandlerThreads = 2;
// A login body is {"token": "..."}; the rest are GETs and empty POSTs.
constexpr size_t kMaxRequestBytes = 16 * 1024;

// The page each path shows: /actors/<id> is one actor's.
std::string PageFile(const std::string& path) {
  if (path == "/") return "/overview.html";
  if (absl::StartsWith(path, "/actors/") && path.find('/', 8) == std::string::npos && path.size() > 8) {
    return "/actor.html";
  }
  static const char* const kPages[] = {"/jobs", "/actors", "/tasks", "/placement_groups",
                                       "/objects", "/logs", "/timeline", "/login"};
  for (const char* page : kPages) {
    if (path == page) return path + ".html";
  }
  return "";
}

// What every answer carries: no framing, no script or style from elsewhere, no sniffing.
void Harden(http::Response& response) {
  response.set("Content-Security-Policy",
               "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Referrer-Policy", "no-referrer");
}

http::Response Answer(const http::Request& request, unsigned status, std::string body, std::string_view type) {
  http::Response response = http::TextResponse(request, status, std::move(body));
  response.set(bhttp::field::content_type, std::string(type));
  Harden(response);
  return response;
}

http::Response Json(const http::Request& request, const ApiReply& reply) {
  http::Response response =
      Answer(request, reply.status, reply.json_text.empty() ? reply.body.dump() : reply.json_text, "application/json");
  response.set(bhttp::field::cache_control, "no-store");
  return response;
}

http::Response Redirect(const http::Request& request, const std::string& location) {
  http::Response response = Answer(request, 302, "", "text/plain; charset=utf-8");
  response.set(bhttp::field::location, location);
  return response;
}

std::string Header(const http::Request& request, bhttp::field field) { return std::string(request[field]); }

// '+' is a space in a query (as HTML forms send it); a broken %-escape leaves the text as sent.
std::string Unescape(absl::string_view text) {
  std::string plus_as_space = absl::StrReplaceAll(text, {{"+", " "}});
  std::string decoded;
  return PercentDecode(plus_as_space, &decoded) ? decoded : plus_as_space;
}

}  // namespace

Target ParseTarget(const std::string& target) {
  Target parsed;
  const size_t question = target.find('?');
  const absl::string_view whole(target);
  parsed.path = Unescape(whole.substr(0, question));
  if (question == std::string::npos) return parsed;
  for (absl::string_view pair : absl::StrSplit(whole.substr(question + 1), '&', absl::SkipEmpty())) {
    const size_t equals = pair.find('=');
    parsed.query[Unescape(pair.substr(0, equals))] =
        equals == absl::string_view::npos ? "" : Unescape(pair.substr(equals + 1));
  }
  return parsed;
}

http::Response DashboardHandler::operator()(const http::Request& request, const http::RequestContext& context) const {
  const std::string target(request.target());
  const Target parsed = ParseTarget(target);
  if (parsed.path == kApiPrefix || absl::StartsWith(parsed.path, std::string(kApiPrefix) + "/")) {
    return Api(request, context, parsed.path.substr(sizeof(kApiPrefix) - 1), parsed.query);
  }
  if (request.method() != bhttp::verb::get && request.method() != bhttp::verb::head) {
    return Answer(request, 405, "pages are read with GET", "text/plain; charset=utf-8");
  }
  return Page(request, parsed.path, target);
}

http::Response DashboardHandler::Page(const http::Request& request, const std::string& path,
                                      const std::string& target) const {
  if (absl::StartsWith(path, "/static/")) {
    const Asset* asset = FindAsset(path);
    if (asset == nullptr) return Answer(request, 404, "no file " + path, "text/plain; charset=utf-8");
    return Answer(request, 200, std::string(asset->bytes), asset->content_type);
  }
  const std::string file = PageFile(path);
  if (file.empty()) return Answer(request, 404, "no page " + path, "text/plain; charset=utf-8");
  if (file != "/login.html" &&
      !auth_.Authorized(Header(request, bhttp::field::cookie), Header(request, bhttp::field::authorization))) {
    return Redirect(request, "/login?next=" + PercentEncode(target, "/"));
  }
  const Asset* page = FindAsset(file);
  if (page == nullptr) return Answer(request, 500, "the page " + file + " was not built in", "text/plain");
  http::Response response = Answer(request, 200, std::string(page->bytes), page->content_type);
  response.set(bhttp::field::cache_control, "no-cache");
  return response;
}

http::Response DashboardHandler::Api(const http::Request& request, const http::RequestContext& context,
                                     const std::string& path, const Query& query) const {
  const bool post = request.method() == bhttp::verb::post;
  if (!post && request.method() != bhttp::verb::get) return Json(request, ApiError(405, "the API takes GET and POST"));
  // A write is taken only from this origin (a page of another site can send neither the
  // header nor a matching Origin); logging in is a write.
  if (post && !DashboardAuth::SameOriginWrite(std::string(request[kWriteHeader]), Header(request, bhttp::field::origin),
                                              Header(request, bhttp::field::host), context.https)) {
    return Json(request, ApiError(403, std::string("a write must come from the dashboard's own pages (with ") +
                                           kWriteHeader + ": 1)"));
  }
  if (post && path == "/login") return LogIn(request, context);
  if (post && path == "/logout") {
    const std::string cookies = Header(request, bhttp::field::cookie);
    if (auto session = CookieValue(cookies, kSessionCookie)) auth_.LogOut(*session);
    http::Response response = Json(request, ApiReply{200, nlohmann::ordered_json::object()});
    response.set(bhttp::field::set_cookie, DashboardAuth::ClearedCookie(context.https));
    return response;
  }
  if (!auth_.Authorized(Header(request, bhttp::field::cookie), Header(request, bhttp::field::authorization))) {
    return Json(request, ApiError(401, "log in with the cluster token (POST /api/v0/login, or Authorization: Bearer)"));
  }
  return Json(request, api_(post ? "POST" : "GET", path, query));
}

http::Response DashboardHandler::LogIn(const http::Request& request, const http::RequestContext& context) const {
  const nlohmann::json body = nlohmann::json::parse(request.body(), nullptr, /*allow_exceptions=*/false);
  const bool by_token = body.is_object() && body.contains("token") && body["token"].is_string();
  const bool by_link = body.is_object() && body.contains("once") && body["once"].is_string();
  if (!by_token && !by_link) {
    return Json(request, ApiError(400, "the login body is {\"token\": \"...\"} (or a link's {\"once\": \"...\"})"));
  }
  DashboardAuth::Login login =
      by_token ? auth_.LogIn(body["token"].get<std::string>(), context.peer)
               : auth_.LogInByLink([&] { return redeem_(body["once"].get<std::string>()); }, context.peer);
  switch (login.result) {
    case DashboardAuth::LoginResult::kOk: {
      http::Response response = Json(request, ApiReply{200, nlohmann::ordered_json::object()});
      response.set(bhttp::field::set_cookie, DashboardAuth::SessionCookie(login.session, context.https));
      return response;
    }
    case DashboardAuth::LoginResult::kWrongToken:
      spdlog::warn("dashboard: a login from {} with a wrong token or a spent link", context.peer);
      return Json(request, ApiError(401, by_token ? "wrong token" : "this login link was used already or has expired"));
    case DashboardAuth::LoginResult::kTooManyTries: {
      http::Response response = Json(request, ApiError(429, "too many wrong tokens from this address: wait a minute"));
      response.set(bhttp::field::retry_after, "60");
      return response;
    }
  }
  return Json(request, ApiError(500, "unreachable"));
}

absl::StatusOr<std::unique_ptr<DashboardServer>> DashboardServer::Start(DashboardOptions options,
                                                                       std::unique_ptr<DashboardApi> api) {
  std::unique_ptr<DashboardServer> server(new DashboardServer());
  server->api_ = std::move(api);
  server->auth_ = std::make_unique<DashboardAuth>(DashboardAuth::Options{options.token});
  DashboardApi* api_raw = server->api_.get();
  DashboardHandler handler(
      *server->auth_,
      [api_raw](const std::string& method, const std::string& path, const Query& query) {
        return method == "POST" ? api_raw->Post(path) : api_raw->Get(path, query);
      },
      [api_raw](const std::string& nonce) { return api_raw->RedeemLoginLink(nonce); });
  http::ServerOptions http_options;
  http_options.host = options.host;
  http_options.port = options.port;
  http_options.port_flag = "--dashboard-port";
  http_options.tls = std::move(options.tls);
  http_options.max_request_bytes = kMaxRequestBytes;
  http_options.handler_threads = kHandlerThreads;
  auto http = http::HttpServer::Start(std::move(http_options), std::move(handler));
  if (!http.ok()) return absl::Status(http.status().code(), "the dashboard: " + std::string(http.status().message()));
  server->server_ = std::move(*http);
  return server;
}

}  // namespace orrery::dashboard
