#include "tcp_floor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "rate.h"

namespace orrery::bench {

namespace {

// A connected pair of loopback TCP sockets, or {-1, -1}.
std::pair<int, int> LoopbackPair() {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(listener, 1) != 0 || getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (listener >= 0) close(listener);
    return {-1, -1};
  }
  int writer = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(writer, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(writer);
    close(listener);
    return {-1, -1};
  }
  int reader = accept(listener, nullptr, nullptr);
  close(listener);
  return {writer, reader};
}

}  // namespace

double TcpLoopbackGigabytes(size_t bytes, int repeats) {
  static constexpr size_t kBuffer = 1 << 20;
  return BestRate(static_cast<double>(bytes) / 1e9, repeats, [bytes] {
    auto [writer, reader] = LoopbackPair();
    if (writer < 0) return;
    std::thread sender([writer = writer, bytes] {
      std::vector<char> out(kBuffer, 1);
      for (size_t sent = 0; sent < bytes;) {
        ssize_t n = write(writer, out.data(), std::min(kBuffer, bytes - sent));
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      close(writer);
    });
    std::vector<char> in(kBuffer);
    while (read(reader, in.data(), in.size()) > 0) {
    }
    close(reader);
    sender.join();
  });
}

}  // namespace orrery::bench
