// WorkingDirPackages: deletes from the GCS KV the working_dir packages nothing uses. A package
// is in use while a running job names it, while a submitted job (`orrery job submit`) that has
// not ended names it, and for a hold after it was last uploaded or asked about: a driver
// uploads its package before it registers its job, and must not lose it in between (as Ray's
// temporary URI reference). Every other package is deleted by the next sweep, which runs when
// a job ends and every half hold. Nodes delete their unpacked copies on their own, when the
// last job using one there ends (WorkingDirs::Release).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "src/gcs/storage/store_client.h"

namespace orrery::gcs {

// Owned and called by the GCS event loop only.
class WorkingDirPackages {
 public:
  // The packages the running and submitted jobs name.
  using InUse = std::function<absl::flat_hash_set<std::string>()>;
  using Swept = std::function<void(std::vector<std::string> deleted)>;

  WorkingDirPackages(boost::asio::io_context& io, StoreClient& store, int64_t hold_ms, InUse in_use);

  // Sweeps now, and every half hold (at least every minute) until Stop().
  void Start();
  void Stop();
  // `package` was stored or asked about at `now_ms` (monotonic): kept for the hold from then.
  void Hold(const std::string& package, int64_t now_ms);
  // Deletes each stored package that is not in use and not held at `now_ms`. The first sweep
  // holds from `now_ms` each package it finds instead (stored before this GCS started, maybe by
  // a driver about to register its job). `done` once the deletions are stored, with the
  // packages deleted.
  void Sweep(int64_t now_ms, Swept done = nullptr);
  // A job ended: sweeps on the loop's next turn.
  void SweepSoon();

 private:
  void ScheduleSweep();
  void OnListed(int64_t now_ms, std::vector<std::string> rows, Swept done);

  boost::asio::io_context& io_;
  StoreClient& store_;
  const int64_t hold_ms_;
  const InUse in_use_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
  bool first_listing_ = true;
  // Package -> until when (monotonic ms) it is kept though no job uses it.
  absl::flat_hash_map<std::string, int64_t> held_until_ms_;
};

}  // namespace orrery::gcs
