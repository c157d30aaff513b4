// ZygoteClient: the raylet's side of one job's zygote process. Starts it (exec of the job's
// worker command with the control socket), sends fork requests, and turns the zygote's
// datagrams into callbacks on the raylet loop.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/posix/stream_descriptor.hpp"
#include "orrery/node_manager.pb.h"
#include "src/common/id.h"
#include "src/common/process.h"

namespace orrery::raylet {

// Owned and called by the raylet event loop only.
class ZygoteClient {
 public:
  struct Callbacks {
    // The zygote is ready to fork (`threads` == 1), or cannot (more threads: exec instead).
    std::function<void(int threads)> on_hello;
    std::function<void(const WorkerId&, pid_t)> on_spawned;
    std::function<void(pid_t, int wait_status)> on_exited;
    std::function<void(const WorkerId&, const std::string& error)> on_fork_failed;
    // The zygote process ended (its children die with it).
    std::function<void(const std::string& why)> on_lost;
  };

  // Starts the zygote: `spawn` says what to run; the control socket is added to it.
  // Call from the raylet loop's thread: the zygote dies with that thread.
  static absl::StatusOr<std::unique_ptr<ZygoteClient>> Start(boost::asio::io_context& io, SpawnOptions spawn,
                                                             Callbacks callbacks);
  ~ZygoteClient();

  absl::Status Fork(const WorkerId& worker_id, const std::map<std::string, std::string>& env,
                    const std::string& stdout_path, const std::string& stderr_path);

  // SIGKILLs the zygote; its workers die with it (PR_SET_PDEATHSIG).
  void Kill();
  pid_t pid() const { return child_.pid; }

 private:
  ZygoteClient(boost::asio::io_context& io, ChildProcess child, int fd, Callbacks callbacks);
  void WaitReadable();
  void ReadEvents();
  void Lost(const std::string& why);

  ChildProcess child_;
  boost::asio::posix::stream_descriptor socket_;
  boost::asio::posix::stream_descriptor pidfd_;
  Callbacks callbacks_;
  bool lost_ = false;
  // Guards callbacks from firing after destruction.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace orrery::raylet
