// One HTTP or HTTPS GET, as a scraper or a script makes it: what the bench and the tests read
// /metrics with, and what the CLI can read a node's endpoints with. Blocking.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace orrery::http {

struct GetOptions {
  // Empty: plain HTTP. Set: HTTPS trusting only this CA (PEM), and expecting `server_name` in
  // the server's certificate (a cluster's certificates name kClusterServerName, no address).
  std::string ca_pem;
  std::string server_name;
  int timeout_ms = 10'000;
};

struct GetReply {
  int status = 0;
  std::string body;
  std::string server_certificate_pem;  // HTTPS: the certificate the server presented
  std::multimap<std::string, std::string> headers;  // by lower-case name
};

// A request other than a bare GET: what a script of the dashboard's API sends.
struct HttpCall {
  std::string method = "GET";
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// GET `path` from `target` ("HOST:PORT") on a new connection. Unavailable when it cannot
// connect, Unauthenticated when the server's certificate is not trusted, DeadlineExceeded after
// the timeout; any answer, whatever its status, is a reply.
absl::StatusOr<GetReply> Get(const std::string& target, const std::string& path, const GetOptions& options = {});

// `call` to `target`, as Get makes a GET.
absl::StatusOr<GetReply> Fetch(const std::string& target, const HttpCall& call, const GetOptions& options = {});

}  // namespace orrery::http
