// What the dashboard answers, request by request, without a cluster: pages behind the login,
// the API behind the token, writes only from the dashboard's own pages, the headers a browser
// is held to. The API itself is a stand-in that records what it was asked.
#include "src/dashboard/dashboard_server.h"

#include <set>
#include <string>
#include <vector>

#include "boost/beast/http/field.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/dashboard/dashboard_assets.h"

namespace orrery::dashboard {
namespace {

namespace bhttp = boost::beast::http;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kToken[] = "the-cluster-token";

struct ApiCall {
  std::string method;
  std::string path;
  Query query;
};

class DashboardHandlerTest : public ::testing::Test {
 protected:
  DashboardHandlerTest()
      : auth_(DashboardAuth::Options{kToken}),
        handler_(
            auth_,
            [this](const std::string& method, const std::string& path, const Query& query) {
              calls_.push_back({method, path, query});
              // An answer written as text already (the timeline's) goes out as it is.
              if (path == "/timeline") return ApiReply{200, nullptr, R"({"traceEvents":[]})"};
              return ApiReply{200, {{"answered", path}}};
            },
            [this](const std::string& nonce) { return links_.erase(nonce) == 1; }) {}

  http::Response Send(bhttp::verb method, const std::string& target,
                      const std::vector<std::pair<std::string, std::string>>& headers = {}, std::string body = "",
                      const std::string& peer = "10.0.0.9") {
    http::Request request(method, target, 11);
    request.set(bhttp::field::host, "10.0.0.1:8265");
    for (const auto& [name, value] : headers) request.set(name, value);
    request.body() = std::move(body);
    request.prepare_payload();
    return handler_(request, http::RequestContext{peer, /*https=*/true});
  }

  // A write as the dashboard's pages send it: the header, and the page's own origin.
  http::Response Write(const std::string& target, std::string body = "", const std::string& cookie = "") {
    std::vector<std::pair<std::string, std::string>> headers = {{"X-Orrery-Request", "1"},
                                                                {"Origin", "https://10.0.0.1:8265"}};
    if (!cookie.empty()) headers.push_back({"Cookie", cookie});
    return Send(bhttp::verb::post, target, headers, std::move(body));
  }

  // Logs in with the token; the Cookie header that carries the session.
  std::string LogIn() {
    http::Response response = Write("/api/v0/login", R"({"token": "the-cluster-token"})");
    EXPECT_EQ(response.result_int(), 200u) << response.body();
    std::string set_cookie(response[bhttp::field::set_cookie]);
    return set_cookie.substr(0, set_cookie.find(';'));
  }

  DashboardAuth auth_;
  DashboardHandler handler_;
  std::vector<ApiCall> calls_;
  std::set<std::string> links_ = {"good-link"};
};

TEST_F(DashboardHandlerTest, APageWithoutASessionRedirectsToTheLoginPageAndBack) {
  http::Response response = Send(bhttp::verb::get, "/logs?node_id=ab&file=x");
  EXPECT_EQ(response.result_int(), 302u);
  EXPECT_EQ(response[bhttp::field::location], "/login?next=/logs%3Fnode_id%3Dab%26file%3Dx");
}

TEST_F(DashboardHandlerTest, TheLoginPageAndStaticFilesNeedNoSession) {
  http::Response login = Send(bhttp::verb::get, "/login?next=/jobs");
  EXPECT_EQ(login.result_int(), 200u);
  EXPECT_EQ(login.body(), std::string(FindAsset("/login.html")->bytes));
  http::Response script = Send(bhttp::verb::get, "/static/dashboard.js");
  EXPECT_EQ(script.result_int(), 200u);
  EXPECT_EQ(script[bhttp::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(script.body(), std::string(FindAsset("/static/dashboard.js")->bytes));
  EXPECT_EQ(Send(bhttp::verb::get, "/static/missing.js").result_int(), 404u);
}

TEST_F(DashboardHandlerTest, EveryAnswerForbidsFramingForeignScriptsAndSniffing) {
  for (const std::string& target : {"/login", "/static/dashboard.css", "/", "/api/v0/nodes", "/nowhere"}) {
    http::Response response = Send(bhttp::verb::get, target);
    EXPECT_EQ(response["Content-Security-Policy"],
              "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
        << target;
    EXPECT_EQ(response["X-Content-Type-Options"], "nosniff") << target;
  }
}

TEST_F(DashboardHandlerTest, TheApiWithoutTheTokenAnswers401AndIsNotAsked) {
  http::Response response = Send(bhttp::verb::get, "/api/v0/nodes");
  EXPECT_EQ(response.result_int(), 401u);
  EXPECT_THAT(response.body(), HasSubstr("log in"));
  EXPECT_EQ(Send(bhttp::verb::get, "/api/v0/nodes", {{"Authorization", "Bearer wrong"}}).result_int(), 401u);
  EXPECT_EQ(Send(bhttp::verb::get, "/api/v0/nodes", {{"Cookie", "orrery_session=forged"}}).result_int(), 401u);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(DashboardHandlerTest, ALoginSetsAStrictHttpOnlySecureCookieThatOpensPagesAndTheApi) {
  http::Response response = Write("/api/v0/login", R"({"token": "the-cluster-token"})");
  ASSERT_EQ(response.result_int(), 200u);
  const std::string set_cookie(response[bhttp::field::set_cookie]);
  EXPECT_THAT(set_cookie, StartsWith("orrery_session="));
  EXPECT_THAT(set_cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(set_cookie, HasSubstr("SameSite=Strict"));
  EXPECT_THAT(set_cookie, HasSubstr("Secure"));
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));

  http::Response page = Send(bhttp::verb::get, "/actors/0123abcd", {{"Cookie", cookie}});
  EXPECT_EQ(page.result_int(), 200u);
  EXPECT_EQ(page.body(), std::string(FindAsset("/actor.html")->bytes));
  http::Response api = Send(bhttp::verb::get, "/api/v0/logs/ab12/worker%20x.out?offset=10", {{"Cookie", cookie}});
  EXPECT_EQ(api.result_int(), 200u);
  EXPECT_EQ(api[bhttp::field::content_type], "application/json");
  EXPECT_EQ(api[bhttp::field::cache_control], "no-store");
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].method, "GET");
  EXPECT_EQ(calls_[0].path, "/logs/ab12/worker x.out");
  EXPECT_EQ(calls_[0].query, (Query{{"offset", "10"}}));
}

TEST_F(DashboardHandlerTest, AWrongTokenIsRefusedAndManyFromOnePeerAreTurnedAway) {
  EXPECT_EQ(Write("/api/v0/login", R"({"token": "guess"})").result_int(), 401u);
  EXPECT_EQ(Write("/api/v0/login", R"(not json)").result_int(), 400u);
  for (int i = 1; i < 10; ++i) Write("/api/v0/login", R"({"token": "guess"})");
  http::Response refused = Write("/api/v0/login", R"({"token": "the-cluster-token"})");
  EXPECT_EQ(refused.result_int(), 429u);
  EXPECT_EQ(refused[bhttp::field::retry_after], "60");
}

TEST_F(DashboardHandlerTest, AOneTimeLinkLogsInOnce) {
  http::Response first = Write("/api/v0/login", R"({"once": "good-link"})");
  EXPECT_EQ(first.result_int(), 200u) << first.body();
  EXPECT_THAT(std::string(first[bhttp::field::set_cookie]), StartsWith("orrery_session="));
  http::Response again = Write("/api/v0/login", R"({"once": "good-link"})");
  EXPECT_EQ(again.result_int(), 401u);
  EXPECT_THAT(again.body(), HasSubstr("used already or has expired"));
}

TEST_F(DashboardHandlerTest, AScriptWithTheTokenAsBearerNeedsNoLogin) {
  http::Response response =
      Send(bhttp::verb::get, "/api/v0/tasks?limit=5&state=FAILED", {{"Authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(response.result_int(), 200u);
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].query, (Query{{"limit", "5"}, {"state", "FAILED"}}));
}

TEST_F(DashboardHandlerTest, AnAnswerWrittenAsJsonTextIsSentAsItIs) {
  http::Response response = Send(bhttp::verb::get, "/api/v0/timeline", {{"Authorization", "Bearer the-cluster-token"}});
  EXPECT_EQ(response.result_int(), 200u);
  EXPECT_EQ(response.body(), R"({"traceEvents":[]})");
  EXPECT_EQ(response[bhttp::field::content_type], "application/json");
  EXPECT_EQ(response[bhttp::field::cache_control], "no-store");
}

TEST_F(DashboardHandlerTest, AWriteFromAnotherOriginOrWithoutTheHeaderIsRefused) {
  const std::string cookie = LogIn();
  http::Response foreign = Send(bhttp::verb::post, "/api/v0/jobs/raysubmit_1/stop",
                                {{"Cookie", cookie}, {"X-Orrery-Request", "1"}, {"Origin", "https://evil.example"}});
  EXPECT_EQ(foreign.result_int(), 403u);
  http::Response bare = Send(bhttp::verb::post, "/api/v0/jobs/raysubmit_1/stop", {{"Cookie", cookie}});
  EXPECT_EQ(bare.result_int(), 403u);
  EXPECT_TRUE(calls_.empty());
  http::Response own = Write("/api/v0/jobs/raysubmit_1/stop", "", cookie);
  EXPECT_EQ(own.result_int(), 200u);
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].method, "POST");
  EXPECT_EQ(calls_[0].path, "/jobs/raysubmit_1/stop");
}

TEST_F(DashboardHandlerTest, ALogoutEndsTheSession) {
  const std::string cookie = LogIn();
  http::Response out = Write("/api/v0/logout", "", cookie);
  EXPECT_EQ(out.result_int(), 200u);
  EXPECT_THAT(std::string(out[bhttp::field::set_cookie]), HasSubstr("Max-Age=0"));
  EXPECT_EQ(Send(bhttp::verb::get, "/api/v0/nodes", {{"Cookie", cookie}}).result_int(), 401u);
}

TEST_F(DashboardHandlerTest, UnknownPagesAreNotFoundAndPagesTakeOnlyGet) {
  const std::string cookie = LogIn();
  EXPECT_EQ(Send(bhttp::verb::get, "/secrets", {{"Cookie", cookie}}).result_int(), 404u);
  EXPECT_EQ(Send(bhttp::verb::get, "/actors/a/b", {{"Cookie", cookie}}).result_int(), 404u);
  EXPECT_EQ(Send(bhttp::verb::delete_, "/jobs", {{"Cookie", cookie}}).result_int(), 405u);
  EXPECT_EQ(Send(bhttp::verb::delete_, "/api/v0/jobs", {{"Cookie", cookie}}).result_int(), 405u);
}

TEST(ParseTargetTest, SplitsThePathAndDecodesTheQuery) {
  Target target = ParseTarget("/api/v0/logs/n%2F1?file=a+b%20c&offset=&bad=%zz&flag");
  EXPECT_EQ(target.path, "/api/v0/logs/n/1");
  EXPECT_EQ(target.query, (Query{{"file", "a b c"}, {"offset", ""}, {"bad", "%zz"}, {"flag", ""}}));
}

}  // namespace
}  // namespace orrery::dashboard
