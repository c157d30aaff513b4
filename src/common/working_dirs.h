// WorkingDirs: the jobs' working directories on this host, for a raylet's workers or the job
// supervisor's drivers. A job's working_dir travels as a package named by its SHA-256
// (src/common/directory_package.h), stored in the GCS KV. Each package is fetched and unpacked
// here once, into <root>/<sha256>, and every job of that content shares the folder until the
// owner releases it. Unpacking and deleting run in order on a thread of their own, so a large
// folder does not stall the owner's event loop, and a folder deleted is never deleted after
// the next unpack of the same package.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/thread_pool.hpp"

namespace orrery {

// Owned and called by one event loop only.
class WorkingDirs {
 public:
  using Done = std::function<void(absl::StatusOr<std::string> folder)>;
  // Fetches the bytes of a package by its name; calls back on the loop.
  using Fetch = std::function<void(const std::string& package, std::function<void(absl::StatusOr<std::string>)>)>;

  WorkingDirs(boost::asio::io_context& io, std::string root, Fetch fetch);
  // Waits for an unpack in progress.
  ~WorkingDirs();

  // Calls `done` (on the loop) with the folder of `package` on this node, fetched and unpacked
  // first if needed. Concurrent calls for one package share one fetch. A failure is not kept:
  // the next call tries again.
  void Ensure(const std::string& package, Done done);
  // The folder of a package unpacked here already, or "".
  std::string Find(const std::string& package) const;
  // Deletes the folder of `package` here, when no job on this host uses it any more; a later
  // Ensure() fetches it again. A fetch under way is left alone (a job is about to use it).
  void Release(const std::string& package);

 private:
  void OnFetched(const std::string& package, absl::StatusOr<std::string> bytes);
  void Finish(const std::string& package, absl::StatusOr<std::string> folder);

  boost::asio::io_context& io_;
  const std::string root_;
  Fetch fetch_;
  absl::flat_hash_map<std::string, std::string> ready_;        // package -> folder
  absl::flat_hash_map<std::string, std::vector<Done>> waiting_;  // package -> callers
  // Last: destroyed (joined) first, while what its tasks post back to still exists.
  boost::asio::thread_pool unpacker_{1};
};

}  // namespace orrery
