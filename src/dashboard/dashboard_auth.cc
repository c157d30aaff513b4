#include "src/dashboard/dashboard_auth.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "src/common/random.h"
#include "src/rpc/auth.h"

namespace orrery::dashboard {

namespace {

constexpr auto kFailureWindow = std::chrono::minutes(1);
constexpr size_t kSessionBytes = 32;

std::string CookieAttributes(bool https) {
  return absl::StrCat("; Path=/; HttpOnly; SameSite=Strict", https ? "; Secure" : "");
}

}  // namespace

DashboardAuth::Login DashboardAuth::LogIn(absl::string_view token, const std::string& peer) {
  return Attempt([&] { return !token.empty() && rpc::TokensEqual(token, options_.token); }, peer);
}

DashboardAuth::Login DashboardAuth::LogInByLink(const std::function<bool()>& redeem, const std::string& peer) {
  return Attempt(redeem, peer);
}

DashboardAuth::Login DashboardAuth::Attempt(const std::function<bool()>& check, const std::string& peer) {
  {
    const Clock::time_point now = options_.now();
    absl::MutexLock lock(&mu_);
    Failures& failures = failures_[peer];
    if (now - failures.window_start >= kFailureWindow) failures = Failures{now, 0};
    if (failures.count >= options_.max_failures_per_minute) return {LoginResult::kTooManyTries, ""};
  }
  // Unlocked: redeeming a link asks the GCS.
  const bool good = check();
  const Clock::time_point now = options_.now();
  absl::MutexLock lock(&mu_);
  if (!good) {
    ++failures_[peer].count;
    return {LoginResult::kWrongToken, ""};
  }
  failures_.erase(peer);
  // Sessions idle past their expiry go at each login, so the table stays as small as its users.
  absl::erase_if(sessions_, [&](const auto& entry) { return now - entry.second >= options_.idle_expiry; });
  std::string session = absl::BytesToHexString(RandomBytes(kSessionBytes));
  sessions_[session] = now;
  return {LoginResult::kOk, session};
}

void DashboardAuth::LogOut(absl::string_view session) {
  absl::MutexLock lock(&mu_);
  sessions_.erase(std::string(session));
}

bool DashboardAuth::Authorized(absl::string_view cookie_header, absl::string_view authorization_header) {
  absl::string_view bearer = authorization_header;
  if (absl::ConsumePrefix(&bearer, "Bearer ") && !bearer.empty() && rpc::TokensEqual(bearer, options_.token)) {
    return true;
  }
  std::optional<absl::string_view> session = CookieValue(cookie_header, kSessionCookie);
  if (!session) return false;
  const Clock::time_point now = options_.now();
  absl::MutexLock lock(&mu_);
  auto it = sessions_.find(std::string(*session));
  if (it == sessions_.end()) return false;
  if (now - it->second >= options_.idle_expiry) {
    sessions_.erase(it);
    return false;
  }
  it->second = now;
  return true;
}

std::string DashboardAuth::SessionCookie(const std::string& session, bool https) {
  return absl::StrCat(kSessionCookie, "=", session, CookieAttributes(https));
}

std::string DashboardAuth::ClearedCookie(bool https) {
  return absl::StrCat(kSessionCookie, "=; Max-Age=0", CookieAttributes(https));
}

bool DashboardAuth::SameOriginWrite(absl::string_view write_header, absl::string_view origin, absl::string_view host,
                                    bool https) {
  if (write_header != "1") return false;
  if (origin.empty()) return true;  // not sent by a browser: a script, holding the token
  return origin == absl::StrCat(https ? "https://" : "http://", host);
}

std::optional<absl::string_view> CookieValue(absl::string_view cookie_header, absl::string_view name) {
  for (absl::string_view pair : absl::StrSplit(cookie_header, ';')) {
    pair = absl::StripAsciiWhitespace(pair);
    absl::string_view value = pair;
    if (absl::ConsumePrefix(&value, name) && absl::ConsumePrefix(&value, "=")) return value;
  }
  return std::nullopt;
}

}  // namespace orrery::dashboard
