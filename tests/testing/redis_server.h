// RedisServer: a real redis-server of a test's own, in a temp dir, on a loopback port picked at
// run time (or a Unix socket), its AOF synced on every write so that a SIGKILL loses nothing
// it acknowledged. Killed and its dir removed when destroyed, and with the test if it crashes.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace orrery::testing {

constexpr char kRedisServer[] = "/usr/bin/redis-server";

// A loopback port nobody listened on a moment ago. Racy by nature: RedisServer::Start retries
// with another when redis-server cannot bind it.
inline int PickPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// Sends `request` (raw RESP) and reads until `complete(reply so far)` or `timeout`.
inline std::string Exchange(int port, const std::string& unix_socket, const std::string& request,
                     const std::function<bool(const std::string&)>& complete, absl::Duration timeout) {
  int fd = socket(unix_socket.empty() ? AF_INET : AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval tv = absl::ToTimeval(timeout);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int rc;
  if (unix_socket.empty()) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  } else {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", unix_socket.c_str());
    rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  }
  std::string reply;
  if (rc == 0 && send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    absl::Time deadline = absl::Now() + timeout;
    char buf[4096];
    while (!complete(reply) && absl::Now() < deadline) {
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      reply.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return reply;
}

// redis-server in a temp dir of its own, AOF synced on every write so that a SIGKILL loses
// nothing acknowledged. Killed (SIGTERM, then SIGKILL) and its dir removed when destroyed.
class RedisServer {
 public:
  struct Options {
    bool unix_socket = false;  // listen on <dir>/redis.sock only
    std::string password;      // --requirepass
  };

  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(Options options) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/orrery-redis-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
    std::unique_ptr<RedisServer> server(new RedisServer(std::move(options), pattern));
    absl::Status started;
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (!server->options_.unix_socket) server->port_ = PickPort();
      started = server->Launch();
      if (started.ok()) return server;
    }
    return started;
  }

  ~RedisServer() {
    Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // The URL a client opens, with `password` when not empty.
  std::string Url(const std::string& password = "") const {
    std::string credentials = password.empty() ? "" : absl::StrCat(":", password, "@");
    if (options_.unix_socket) return absl::StrCat("redis+unix://", credentials, socket_path());
    return absl::StrCat("redis://", credentials, "127.0.0.1:", port_);
  }
  int port() const { return port_; }

  // Dies at once, as in a crash: whatever Redis acknowledged is in its AOF.
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (absl::Now() < deadline) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    Kill();
  }

  // Starts again on the same port and dir, loading the AOF.
  absl::Status Restart() {
    Stop();
    return Launch();
  }

 private:
  RedisServer(Options options, std::string dir) : options_(std::move(options)), dir_(std::move(dir)) {}

  std::string socket_path() const { return dir_ + "/redis.sock"; }

  absl::Status Launch() {
    // clang-format off
    std::vector<std::string> args = {kRedisServer,
                                     "--bind", "127.0.0.1",
                                     "--port", absl::StrCat(options_.unix_socket ? 0 : port_),
                                     "--save", "",
                                     "--appendonly", "yes",
                                     "--appendfsync", "always",
                                     "--dir", dir_,
                                     "--logfile", dir_ + "/redis.log",
                                     "--daemonize", "no"};
    // clang-format on
    if (options_.unix_socket) args.insert(args.end(), {"--unixsocket", socket_path(), "--unixsocketperm", "700"});
    if (!options_.password.empty()) args.insert(args.end(), {"--requirepass", options_.password});
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) return absl::InternalError("fork failed");
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
      execv(kRedisServer, argv.data());
      _exit(127);
    }
    pid_ = pid;
    return WaitReady(absl::Seconds(15));
  }

  // Ready: our process (not another that holds the port) answers PING, not LOADING.
  absl::Status WaitReady(absl::Duration timeout) {
    std::string request;
    if (!options_.password.empty()) {
      request = absl::StrCat("*2\r\n$4\r\nAUTH\r\n$", options_.password.size(), "\r\n", options_.password, "\r\n");
    }
    request += "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n*1\r\n$4\r\nPING\r\n";
    std::string pid_line = absl::StrCat("\r\nprocess_id:", pid_, "\r\n");
    absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return absl::UnavailableError(absl::StrCat("redis-server exited at start: ", LogTail()));
      }
      std::string reply = Exchange(
          port_, options_.unix_socket ? socket_path() : "", request,
          [](const std::string& r) { return absl::EndsWith(r, "+PONG\r\n") || absl::StrContains(r, "-LOADING"); },
          absl::Seconds(1));
      if (absl::StrContains(reply, pid_line) && absl::EndsWith(reply, "+PONG\r\n")) return absl::OkStatus();
      absl::SleepFor(absl::Milliseconds(10));
    }
    Stop();
    return absl::DeadlineExceededError(absl::StrCat("redis-server not ready in time: ", LogTail()));
  }

  std::string LogTail() const {
    std::ifstream in(dir_ + "/redis.log");
    std::stringstream text;
    text << in.rdbuf();
    std::string all = text.str();
    return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
  }

  const Options options_;
  const std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace orrery::testing
