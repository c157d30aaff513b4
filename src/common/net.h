// Host addresses: parsing HOST:PORT and finding this host's IP.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace orrery {

struct HostPort {
  std::string host;
  int port = 0;
  std::string ToString() const { return host + ":" + std::to_string(port); }
};

// "10.0.0.1:6391" -> {10.0.0.1, 6391}; the error quotes what was wrong.
absl::StatusOr<HostPort> ParseHostPort(const std::string& text);

// The address other hosts reach this one at: the source address of the default route,
// or 127.0.0.1 when there is none.
std::string DefaultNodeIp();

// True when nothing listens on (and nothing holds) TCP `port` of `host`.
bool TcpPortFree(const std::string& host, int port);

// Sends and receives on `fd` fail with EAGAIN after `timeout_ms` without progress (and, on
// Linux, so does connect()).
void SetSocketTimeouts(int fd, int64_t timeout_ms);

// A blocking TCP connection to host:port (an IPv4 address). Connecting, and every send and
// receive on it later, time out after `timeout_ms`. Errors name the address.
absl::StatusOr<int> ConnectTcp(const std::string& host, int port, int64_t timeout_ms);

}  // namespace orrery
