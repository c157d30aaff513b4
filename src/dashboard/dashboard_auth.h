// Who may use the dashboard: whoever shows the cluster token, once per browser session (a
// login that sets an HttpOnly, SameSite=Strict cookie) or on each request (Authorization:
// Bearer, for scripts). And which writes it takes: only same-origin ones that carry
// X-Orrery-Request (a form on another site can send neither). Pure and thread-safe, so that all
// of it is unit-tested; the server (dashboard_server.h) reads the headers and calls it.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace orrery::dashboard {

inline constexpr char kSessionCookie[] = "orrery_session";
inline constexpr char kWriteHeader[] = "X-Orrery-Request";

class DashboardAuth {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::string token;
    // A session unused this long ends (a GCS restart ends them all: they live in memory).
    Clock::duration idle_expiry = std::chrono::hours(12);
    // Wrong tokens from one peer address past this many in a minute are refused unchecked.
    int max_failures_per_minute = 10;
    std::function<Clock::time_point()> now = [] { return Clock::now(); };
  };
  explicit DashboardAuth(Options options) : options_(std::move(options)) {}

  enum class LoginResult { kOk, kWrongToken, kTooManyTries };
  struct Login {
    LoginResult result;
    std::string session;  // kOk: the new session's id (64 hex digits)
  };
  // Checks `token` (in constant time) for a login from `peer` (its address).
  Login LogIn(absl::string_view token, const std::string& peer);
  // A login by a one-time link of `orrery dashboard`: `redeem` says whether the link was good
  // (and spends it). Limited per peer as wrong tokens are.
  Login LogInByLink(const std::function<bool()>& redeem, const std::string& peer);
  void LogOut(absl::string_view session);

  // Whether a request is let in: the Cookie header names a live session (its idle time starts
  // again), or the Authorization header is "Bearer <the token>".
  bool Authorized(absl::string_view cookie_header, absl::string_view authorization_header);

  // The Set-Cookie value that keeps `session` in the browser, and the one that ends it.
  static std::string SessionCookie(const std::string& session, bool https);
  static std::string ClearedCookie(bool https);

  // A write (POST) is taken only with X-Orrery-Request: 1 and, when the browser sent Origin,
  // an origin that is this server's (scheme and Host header).
  static bool SameOriginWrite(absl::string_view write_header, absl::string_view origin, absl::string_view host,
                              bool https);

 private:
  // The login whose credentials `check` checks (unless `peer` has failed too often).
  Login Attempt(const std::function<bool()>& check, const std::string& peer);

  struct Failures {
    Clock::time_point window_start;
    int count = 0;
  };

  const Options options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Clock::time_point> sessions_ ABSL_GUARDED_BY(mu_);  // id -> last use
  absl::flat_hash_map<std::string, Failures> failures_ ABSL_GUARDED_BY(mu_);          // by peer address
};

// The value of cookie `name` in a Cookie header ("a=1; orrery_session=ab; b=2"), if there.
std::optional<absl::string_view> CookieValue(absl::string_view cookie_header, absl::string_view name);

}  // namespace orrery::dashboard
