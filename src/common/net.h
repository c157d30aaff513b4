// Host addresses: parsing HOST:PORT and finding this host's IP; Unix socket addresses.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

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

// Every IPv4 interface: what a server listens on with --bind-all.
inline constexpr char kAllInterfaces[] = "0.0.0.0";

// The address a server of a node listens on: the node's IP, so that only the network the node
// is reached on can reach it; every interface with `bind_all` (a node behind NAT, whose public
// IP is not one of its own, or one reached on several networks).
std::string ListenHost(const std::string& node_ip, bool bind_all);

// OK when `ip` is an IPv4 address of this host, which a server can listen on; otherwise
// InvalidArgument naming it (a NAT's public address is not one: listen on every interface then).
absl::Status CheckLocalAddress(const std::string& ip);

// True when nothing listens on (and nothing holds) TCP `port` of `host`.
bool TcpPortFree(const std::string& host, int port);

// A listening TCP socket on host:port (an IPv4 address; port 0 picks a free one), non-blocking
// and close-on-exec: accept it after poll(). AlreadyExists "port N is already in use" when the
// port is taken, InvalidArgument for a host that is not an IPv4 address.
struct TcpListener {
  int fd = -1;
  int port = 0;
};
absl::StatusOr<TcpListener> ListenTcp(const std::string& host, int port);

// Sends and receives on `fd` fail with EAGAIN after `timeout_ms` without progress (and, on
// Linux, so does connect()).
void SetSocketTimeouts(int fd, int64_t timeout_ms);

// A blocking TCP connection to host:port (an IPv4 address). Connecting, and every send and
// receive on it later, time out after `timeout_ms`. Errors name the address.
absl::StatusOr<int> ConnectTcp(const std::string& host, int port, int64_t timeout_ms);

// A Unix socket's address, for bind() or connect(): `socket` is a path, or "@NAME" for NAME in
// Linux's abstract namespace (no file; the name is exactly its bytes, no terminator counted).
struct UnixAddress {
  sockaddr_un address{};
  socklen_t length = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&address); }
};
// InvalidArgument, naming the limit, when `socket` does not fit.
absl::StatusOr<UnixAddress> MakeUnixAddress(const std::string& socket);

}  // namespace orrery
