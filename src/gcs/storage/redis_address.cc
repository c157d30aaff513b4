// RedisAddress: the URL forms of a Redis store (redis_store_client.h), parsed and printed. A
// password never leaves this file in clear: ToString() and every error mask it.
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

#include "src/common/percent_encoding.h"
#include "src/gcs/storage/redis_store_client.h"

namespace orrery::gcs {

namespace {

constexpr absl::string_view kTcpScheme = "redis://";
constexpr absl::string_view kUnixScheme = "redis+unix://";
constexpr absl::string_view kForms =
    "expected redis://[user:password@]HOST:PORT[/db] or redis+unix://[user:password@]/PATH[?db=N]";

// Where the "user:password" before the '@' ends in what follows the scheme; npos when there is
// none. Host, port and db cannot hold an '@', so for TCP it is the last one. A socket path can,
// so there it is the first '@' that a '/' follows (a path is absolute). A password holding "@/"
// must be percent-encoded.
size_t UserInfoEnd(absl::string_view rest, bool unix_socket) {
  if (!unix_socket) return rest.rfind('@');
  if (absl::StartsWith(rest, "/")) return absl::string_view::npos;
  size_t at = rest.find("@/");
  return at != absl::string_view::npos ? at : rest.rfind('@');
}

// The URL with its password replaced by "***", also when the URL is malformed. A user info
// without a ':' may be a bare password, so all of it is masked then.
std::string MaskUrl(absl::string_view url) {
  size_t scheme_end = url.find("://");
  absl::string_view scheme = scheme_end == absl::string_view::npos ? "" : url.substr(0, scheme_end + 3);
  absl::string_view rest = url.substr(scheme.size());
  size_t at = UserInfoEnd(rest, scheme == kUnixScheme);
  if (at == absl::string_view::npos) return std::string(url);
  absl::string_view userinfo = rest.substr(0, at);
  size_t colon = userinfo.find(':');
  std::string masked = colon == absl::string_view::npos ? "***" : absl::StrCat(userinfo.substr(0, colon), ":***");
  return absl::StrCat(scheme, masked, rest.substr(at));
}

// Digits only (no sign, no spaces), at most `max`. -1 when not.
int64_t ParseBoundedNumber(absl::string_view text, int64_t max) {
  if (text.empty() || text.size() > 10) return -1;
  int64_t value = 0;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return -1;
    value = value * 10 + (c - '0');
  }
  return value <= max ? value : -1;
}

bool IsHostNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

bool IsIpv6Char(char c) {
  // Hex digits, ':' and '.' (an IPv4 tail), and a zone after '%' (fe80::1%eth0).
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '.' || c == '%';
}

}  // namespace

absl::StatusOr<RedisAddress> RedisAddress::Parse(const std::string& url) {
  auto bad = [&url](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("Redis URL '", MaskUrl(url), "': ", what));
  };
  RedisAddress address;
  absl::string_view rest(url);
  bool unix_socket = absl::ConsumePrefix(&rest, kUnixScheme);
  if (!unix_socket && !absl::ConsumePrefix(&rest, kTcpScheme)) {
    if (absl::StartsWith(url, "rediss://")) return bad("TLS (rediss://) is not supported by this build");
    return bad(kForms);
  }

  size_t at = UserInfoEnd(rest, unix_socket);
  if (at != absl::string_view::npos) {
    absl::string_view userinfo = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == absl::string_view::npos) return bad("credentials must be 'user:password@' or ':password@'");
    if (!PercentDecode(userinfo.substr(0, colon), &address.user)) return bad("broken %-escape in the user");
    if (!PercentDecode(userinfo.substr(colon + 1), &address.password)) return bad("broken %-escape in the password");
    if (address.password.empty()) return bad("empty password");
  }

  if (unix_socket) {
    size_t question = rest.find('?');
    absl::string_view path = rest.substr(0, question);
    if (path.empty() || path[0] != '/') return bad("the socket path must be absolute (redis+unix:///PATH)");
    if (path.back() == '/') return bad("the socket path names a directory");
    if (question != absl::string_view::npos) {
      absl::string_view query = rest.substr(question + 1);
      if (!absl::ConsumePrefix(&query, "db=")) return bad("the only query parameter is db=N");
      int64_t db = ParseBoundedNumber(query, INT32_MAX);
      if (db < 0) return bad("db must be a number");
      address.db = static_cast<int>(db);
    }
    address.unix_socket = std::string(path);
    return address;
  }

  size_t slash = rest.find('/');
  absl::string_view host_port = rest.substr(0, slash);
  absl::string_view port_text;
  bool has_port = false;
  if (absl::ConsumePrefix(&host_port, "[")) {
    size_t close = host_port.find(']');
    if (close == absl::string_view::npos) return bad("'[' without ']' around an IPv6 address");
    absl::string_view host = host_port.substr(0, close);
    if (host.find(':') == absl::string_view::npos) return bad("brackets are only for IPv6 addresses");
    for (char c : host) {
      if (!IsIpv6Char(c)) return bad("bad character in the IPv6 address");
    }
    address.host = std::string(host);
    absl::string_view after = host_port.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("expected ':PORT' after ']'");
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    size_t colon = host_port.find(':');
    if (colon != absl::string_view::npos) {
      if (host_port.find(':', colon + 1) != absl::string_view::npos) {
        return bad("an IPv6 address needs brackets: redis://[ADDRESS]:PORT");
      }
      has_port = true;
      port_text = host_port.substr(colon + 1);
    }
    absl::string_view host = host_port.substr(0, colon);
    for (char c : host) {
      if (!IsHostNameChar(c)) return bad("bad character in the host");
    }
    address.host = std::string(host);
  }
  if (address.host.empty()) return bad("missing host");
  if (has_port) {
    if (port_text.empty()) return bad("missing port after ':'");
    int64_t port = ParseBoundedNumber(port_text, 65535);
    if (port <= 0) return bad("the port must be a number from 1 to 65535");
    address.port = static_cast<int>(port);
  }
  if (slash != absl::string_view::npos) {
    absl::string_view db_text = rest.substr(slash + 1);
    if (!db_text.empty()) {
      int64_t db = ParseBoundedNumber(db_text, INT32_MAX);
      if (db < 0) return bad("the path must be a db number (redis://HOST:PORT/N)");
      address.db = static_cast<int>(db);
    }
  }
  return address;
}

std::string RedisAddress::ToString() const {
  std::string credentials;
  if (!user.empty() || !password.empty()) credentials = absl::StrCat(PercentEncode(user), ":***@");
  if (!unix_socket.empty()) {
    return absl::StrCat(kUnixScheme, credentials, unix_socket, db != 0 ? absl::StrCat("?db=", db) : "");
  }
  bool ipv6 = host.find(':') != std::string::npos;
  return absl::StrCat(kTcpScheme, credentials, ipv6 ? "[" : "", host, ipv6 ? "]" : "", ":", port,
                      db != 0 ? absl::StrCat("/", db) : "");
}

}  // namespace orrery::gcs
