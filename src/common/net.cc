#include "src/common/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "absl/strings/numbers.h"
#include "src/common/status.h"

namespace orrery {

absl::StatusOr<HostPort> ParseHostPort(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return absl::InvalidArgumentError("address '" + text + "' is not HOST:PORT");
  }
  HostPort hp;
  hp.host = text.substr(0, colon);
  if (!absl::SimpleAtoi(text.substr(colon + 1), &hp.port) || hp.port <= 0 || hp.port > 65535) {
    return absl::InvalidArgumentError("address '" + text + "' has no valid port (1-65535)");
  }
  return hp;
}

std::string DefaultNodeIp() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "127.0.0.1";
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(53);
  // A documentation address: connect() on UDP sends nothing, it only picks the route.
  inet_pton(AF_INET, "192.0.2.1", &target.sin_addr);
  std::string ip = "127.0.0.1";
  if (connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof(target)) == 0) {
    sockaddr_in local{};
    socklen_t len = sizeof(local);
    char buf[INET_ADDRSTRLEN];
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 &&
        inet_ntop(AF_INET, &local.sin_addr, buf, sizeof(buf)) != nullptr && local.sin_addr.s_addr != 0) {
      ip = buf;
    }
  }
  close(fd);
  return ip;
}

std::string ListenHost(const std::string& node_ip, bool bind_all) { return bind_all ? kAllInterfaces : node_ip; }

absl::Status CheckLocalAddress(const std::string& ip) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError("'" + ip + "' is not an IPv4 address");
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("creating a socket", errno);
  int error = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 ? 0 : errno;
  close(fd);
  if (error == EADDRNOTAVAIL) return absl::InvalidArgumentError(ip + " is not an address of this host");
  return error == 0 ? absl::OkStatus() : ErrnoStatus("listening on " + ip, error);
}

bool TcpPortFree(const std::string& host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // As gRPC binds: a port whose last connections linger in TIME_WAIT (after a server that
  // closed first, e.g. one that crashed) is free to listen on again; one listened on is not.
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) addr.sin_addr.s_addr = htonl(INADDR_ANY);
  bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return free;
}

absl::StatusOr<TcpListener> ListenTcp(const std::string& host, int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError("cannot listen on '" + host + "': not an IPv4 address");
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ErrnoStatus("creating a TCP socket", errno);
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || listen(fd, SOMAXCONN) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    int error = errno;
    close(fd);
    if (error == EADDRINUSE) return absl::AlreadyExistsError("port " + std::to_string(port) + " is already in use");
    return ErrnoStatus("listening on " + host + ":" + std::to_string(port), error);
  }
  return TcpListener{fd, ntohs(address.sin_port)};
}

void SetSocketTimeouts(int fd, int64_t timeout_ms) {
  timeval tv{static_cast<time_t>(timeout_ms / 1000), static_cast<suseconds_t>((timeout_ms % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

absl::StatusOr<int> ConnectTcp(const std::string& host, int port, int64_t timeout_ms) {
  std::string where = host + ":" + std::to_string(port);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError("not an IPv4 address: " + host);
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("creating a socket to " + where, errno);
  SetSocketTimeouts(fd, timeout_ms);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    int error = errno;
    close(fd);
    if (error == EINPROGRESS || error == EAGAIN) {
      return absl::DeadlineExceededError("connecting to " + where + " timed out");
    }
    return absl::UnavailableError("connecting to " + where + ": " + std::strerror(error));
  }
  return fd;
}

absl::StatusOr<UnixAddress> MakeUnixAddress(const std::string& socket) {
  UnixAddress unix_address;
  unix_address.address.sun_family = AF_UNIX;
  if (socket.empty() || socket.size() >= sizeof(unix_address.address.sun_path)) {
    return absl::InvalidArgumentError("socket path '" + socket + "' must have 1 to " +
                                      std::to_string(sizeof(unix_address.address.sun_path) - 1) +
                                      " bytes; use a shorter --temp-dir");
  }
  std::memcpy(unix_address.address.sun_path, socket.data(), socket.size());
  if (socket[0] == '@') {
    unix_address.address.sun_path[0] = '\0';
    unix_address.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket.size());
  } else {
    unix_address.length = sizeof(unix_address.address);
  }
  return unix_address;
}

}  // namespace orrery
