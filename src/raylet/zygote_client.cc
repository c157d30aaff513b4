#include "src/raylet/zygote_client.h"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "src/common/log.h"
#include "src/common/status.h"

namespace orrery::raylet {

absl::StatusOr<std::unique_ptr<ZygoteClient>> ZygoteClient::Start(boost::asio::io_context& io, SpawnOptions spawn,
                                                                  Callbacks callbacks) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) return ErrnoStatus("socketpair", errno);
  spawn.inherit_fds.push_back(fds[1]);
  spawn.env["ORRERY_WORKER_MODE"] = "zygote";
  spawn.env["ORRERY_ZYGOTE_FD"] = std::to_string(fds[1]);
  // Every dynamic symbol resolved once, in the zygote, rather than lazily in each forked
  // worker (which otherwise spends a good part of its start-up in the dynamic linker).
  spawn.env["LD_BIND_NOW"] = "1";
  spawn.die_with_parent = true;
  auto child = Spawn(spawn);
  close(fds[1]);
  if (!child.ok()) {
    close(fds[0]);
    return child.status();
  }
  return std::unique_ptr<ZygoteClient>(new ZygoteClient(io, *child, fds[0], std::move(callbacks)));
}

ZygoteClient::ZygoteClient(boost::asio::io_context& io, ChildProcess child, int fd, Callbacks callbacks)
    : child_(child), socket_(io, fd), pidfd_(io), callbacks_(std::move(callbacks)) {
  if (child_.pidfd >= 0) pidfd_.assign(child_.pidfd);
  socket_.non_blocking(true);
  WaitReadable();
  // The zygote is our child: reap it when it exits, whatever the socket says.
  std::weak_ptr<bool> alive = alive_;
  if (pidfd_.is_open()) {
    pidfd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                      [this, alive](const boost::system::error_code& ec) {
                        if (ec || alive.expired()) return;
                        std::optional<int> status = TryReap(pidfd_.native_handle());
                        Lost(status ? DescribeWaitStatus(*status) : "exited");
                      });
  }
}

ZygoteClient::~ZygoteClient() {
  *alive_ = false;
  alive_.reset();
  Kill();
  boost::system::error_code ignored;
  socket_.close(ignored);
  if (pidfd_.is_open()) {
    WaitForExit(pidfd_.native_handle(), 1000);
    TryReap(pidfd_.native_handle());
    pidfd_.close(ignored);
  }
}

void ZygoteClient::Kill() {
  if (child_.pid > 0 && !lost_) kill(child_.pid, SIGKILL);
}

absl::Status ZygoteClient::Fork(const WorkerId& worker_id, const std::map<std::string, std::string>& env,
                                const std::string& stdout_path, const std::string& stderr_path) {
  if (lost_) return absl::UnavailableError("the zygote has exited");
  rpc::ZygoteForkRequest request;
  request.set_worker_id(worker_id.Binary());
  for (const auto& [name, value] : env) (*request.mutable_env())[name] = value;
  request.set_stdout_path(stdout_path);
  request.set_stderr_path(stderr_path);
  std::string bytes = request.SerializeAsString();
  ssize_t sent;
  do {
    sent = send(socket_.native_handle(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return ErrnoStatus("send to zygote", errno);
  return absl::OkStatus();
}

void ZygoteClient::WaitReadable() {
  std::weak_ptr<bool> alive = alive_;
  socket_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                     [this, alive](const boost::system::error_code& ec) {
                       if (ec || alive.expired()) return;
                       ReadEvents();
                     });
}

void ZygoteClient::ReadEvents() {
  std::weak_ptr<bool> alive = alive_;
  char buf[4096];
  while (true) {
    ssize_t n = recv(socket_.native_handle(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      Lost("closed its control socket");
      return;
    }
    rpc::ZygoteEvent event;
    if (!event.ParseFromArray(buf, static_cast<int>(n))) {
      spdlog::warn("zygote {} sent an unreadable message", child_.pid);
      continue;
    }
    switch (event.event_case()) {
      case rpc::ZygoteEvent::kHello:
        callbacks_.on_hello(event.hello().threads());
        break;
      case rpc::ZygoteEvent::kSpawned:
        if (auto id = WorkerId::FromBinary(event.spawned().worker_id()); id.ok()) {
          callbacks_.on_spawned(*id, event.spawned().pid());
        }
        break;
      case rpc::ZygoteEvent::kExited:
        callbacks_.on_exited(event.exited().pid(), event.exited().wait_status());
        break;
      case rpc::ZygoteEvent::kForkFailed:
        if (auto id = WorkerId::FromBinary(event.fork_failed().worker_id()); id.ok()) {
          callbacks_.on_fork_failed(*id, event.fork_failed().error());
        }
        break;
      default:
        break;
    }
    if (alive.expired()) return;  // a callback destroyed us
  }
  WaitReadable();
}

void ZygoteClient::Lost(const std::string& why) {
  if (lost_) return;
  lost_ = true;
  callbacks_.on_lost(why);
}

}  // namespace orrery::raylet
