// Who the dashboard lets in and which writes it takes: the token's login and its cookie, a
// session's idle expiry, Bearer for scripts, wrong tokens limited per peer, and the same-origin
// check on writes.
#include "src/dashboard/dashboard_auth.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace orrery::dashboard {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using Clock = DashboardAuth::Clock;

class DashboardAuthTest : public ::testing::Test {
 protected:
  DashboardAuth::Options Options() {
    DashboardAuth::Options options;
    options.token = "s3cret-token";
    options.idle_expiry = std::chrono::hours(1);
    options.max_failures_per_minute = 3;
    options.now = [this] { return now_; };
    return options;
  }
  std::string Cookie(const std::string& session) { return "theme=dark; orrery_session=" + session + "; x=1"; }

  Clock::time_point now_ = Clock::time_point() + std::chrono::hours(100);
  DashboardAuth auth_{Options()};
};

TEST_F(DashboardAuthTest, TheTokenLogsInAndTheSessionCookieLetsTheBrowserIn) {
  DashboardAuth::Login login = auth_.LogIn("s3cret-token", "10.0.0.9");
  ASSERT_EQ(login.result, DashboardAuth::LoginResult::kOk);
  EXPECT_THAT(login.session, MatchesRegex("[0-9a-f]{64}"));
  EXPECT_TRUE(auth_.Authorized(Cookie(login.session), ""));
  // Another login is another session.
  EXPECT_NE(auth_.LogIn("s3cret-token", "10.0.0.9").session, login.session);
  auth_.LogOut(login.session);
  EXPECT_FALSE(auth_.Authorized(Cookie(login.session), ""));
}

TEST_F(DashboardAuthTest, NothingElseLetsABrowserIn) {
  EXPECT_FALSE(auth_.Authorized("", ""));
  EXPECT_FALSE(auth_.Authorized(Cookie(std::string(64, 'a')), ""));
  EXPECT_FALSE(auth_.Authorized("orrery_session=", ""));
  EXPECT_EQ(auth_.LogIn("wrong", "10.0.0.9").result, DashboardAuth::LoginResult::kWrongToken);
  EXPECT_EQ(auth_.LogIn("", "10.0.0.9").result, DashboardAuth::LoginResult::kWrongToken);
  // The token itself in the cookie is no session.
  EXPECT_FALSE(auth_.Authorized(Cookie("s3cret-token"), ""));
}

TEST_F(DashboardAuthTest, ASessionUnusedForItsIdleExpiryEndsAndUseKeepsItAlive) {
  std::string session = auth_.LogIn("s3cret-token", "10.0.0.9").session;
  now_ += std::chrono::minutes(50);
  EXPECT_TRUE(auth_.Authorized(Cookie(session), ""));  // used: its hour starts again
  now_ += std::chrono::minutes(50);
  EXPECT_TRUE(auth_.Authorized(Cookie(session), ""));
  now_ += std::chrono::minutes(61);
  EXPECT_FALSE(auth_.Authorized(Cookie(session), ""));
}

TEST_F(DashboardAuthTest, ABearerTokenLetsAScriptInWithoutASession) {
  EXPECT_TRUE(auth_.Authorized("", "Bearer s3cret-token"));
  EXPECT_FALSE(auth_.Authorized("", "Bearer wrong"));
  EXPECT_FALSE(auth_.Authorized("", "Bearer "));
  EXPECT_FALSE(auth_.Authorized("", "s3cret-token"));
  EXPECT_FALSE(auth_.Authorized("", "Basic s3cret-token"));
}

TEST_F(DashboardAuthTest, WrongTokensFromOnePeerAreLimitedPerMinuteAndOthersAreNot) {
  for (int i = 0; i < 3; ++i) EXPECT_EQ(auth_.LogIn("guess", "10.0.0.66").result, DashboardAuth::LoginResult::kWrongToken);
  // Past the limit even the right token is not looked at until the minute is over.
  EXPECT_EQ(auth_.LogIn("s3cret-token", "10.0.0.66").result, DashboardAuth::LoginResult::kTooManyTries);
  EXPECT_EQ(auth_.LogIn("s3cret-token", "10.0.0.9").result, DashboardAuth::LoginResult::kOk);
  now_ += std::chrono::minutes(1);
  EXPECT_EQ(auth_.LogIn("s3cret-token", "10.0.0.66").result, DashboardAuth::LoginResult::kOk);
}

TEST_F(DashboardAuthTest, TheCookieIsHttpOnlyStrictAndSecureOverHttps) {
  EXPECT_EQ(DashboardAuth::SessionCookie("ab12", false), "orrery_session=ab12; Path=/; HttpOnly; SameSite=Strict");
  EXPECT_EQ(DashboardAuth::SessionCookie("ab12", true),
            "orrery_session=ab12; Path=/; HttpOnly; SameSite=Strict; Secure");
  EXPECT_THAT(DashboardAuth::ClearedCookie(true), HasSubstr("orrery_session=; Max-Age=0"));
}

TEST(SameOriginWrite, NeedsTheHeaderAndTheServersOwnOrigin) {
  EXPECT_TRUE(DashboardAuth::SameOriginWrite("1", "https://10.0.0.4:8265", "10.0.0.4:8265", true));
  EXPECT_TRUE(DashboardAuth::SameOriginWrite("1", "", "10.0.0.4:8265", true));  // a script
  EXPECT_FALSE(DashboardAuth::SameOriginWrite("", "https://10.0.0.4:8265", "10.0.0.4:8265", true));
  EXPECT_FALSE(DashboardAuth::SameOriginWrite("1", "https://evil.example", "10.0.0.4:8265", true));
  EXPECT_FALSE(DashboardAuth::SameOriginWrite("1", "http://10.0.0.4:8265", "10.0.0.4:8265", true));
  EXPECT_FALSE(DashboardAuth::SameOriginWrite("1", "null", "10.0.0.4:8265", false));
}

TEST(CookieValue, FindsANamedCookieAmongOthers) {
  EXPECT_EQ(CookieValue("a=1; orrery_session=xyz; b=2", "orrery_session"), "xyz");
  EXPECT_EQ(CookieValue("orrery_session=xyz", "orrery_session"), "xyz");
  EXPECT_EQ(CookieValue("my_orrery_session=xyz", "orrery_session"), std::nullopt);
  EXPECT_EQ(CookieValue("", "orrery_session"), std::nullopt);
}

}  // namespace
}  // namespace orrery::dashboard
