#include "src/gcs/working_dir_packages.h"

#include <algorithm>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "boost/asio/post.hpp"
#include "src/common/clock.h"
#include "src/common/log.h"
#include "src/common/runtime_env.h"
#include "src/gcs/gcs_kv_manager.h"
#include "src/gcs/gcs_table_storage.h"

namespace orrery::gcs {

namespace {

// Often enough that a package outlives its hold by at most half of it; rarely enough that an
// idle GCS does not list its KV many times a second.
constexpr int64_t kShortestSweepPeriodMs = 100;
constexpr int64_t kLongestSweepPeriodMs = 60'000;

}  // namespace

WorkingDirPackages::WorkingDirPackages(boost::asio::io_context& io, StoreClient& store, int64_t hold_ms, InUse in_use)
    : io_(io), store_(store), hold_ms_(std::max<int64_t>(0, hold_ms)), in_use_(std::move(in_use)), timer_(io) {}

void WorkingDirPackages::Start() {
  SweepSoon();
  ScheduleSweep();
}

void WorkingDirPackages::Stop() {
  stopped_ = true;
  timer_.cancel();
}

void WorkingDirPackages::Hold(const std::string& package, int64_t now_ms) {
  int64_t& until = held_until_ms_[package];
  until = std::max(until, now_ms + hold_ms_);
}

void WorkingDirPackages::SweepSoon() {
  boost::asio::post(io_, [this] {
    if (!stopped_) Sweep(MonotonicMs());
  });
}

void WorkingDirPackages::ScheduleSweep() {
  if (stopped_) return;
  timer_.expires_after(std::chrono::milliseconds(std::clamp(hold_ms_ / 2, kShortestSweepPeriodMs, kLongestSweepPeriodMs)));
  timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || stopped_) return;
    Sweep(MonotonicMs());
    ScheduleSweep();
  });
}

void WorkingDirPackages::Sweep(int64_t now_ms, Swept done) {
  store_.Keys(kKvTable, KvRowKey(kWorkingDirKvNamespace, ""),
              [this, now_ms, done = std::move(done)](absl::StatusOr<std::vector<std::string>> rows) mutable {
                if (!rows.ok()) {
                  spdlog::warn("listing the working_dir packages: {}", rows.status().message());
                  if (done) done({});
                  return;
                }
                OnListed(now_ms, std::move(*rows), std::move(done));
              });
}

void WorkingDirPackages::OnListed(int64_t now_ms, std::vector<std::string> rows, Swept done) {
  const absl::flat_hash_set<std::string> in_use = in_use_();
  const size_t prefix = KvRowKey(kWorkingDirKvNamespace, "").size();
  absl::flat_hash_set<std::string> stored;
  std::vector<std::string> unused;
  for (const std::string& row : rows) {
    std::string package = row.substr(prefix);
    stored.insert(package);
    if (in_use.contains(package)) continue;
    // The first listing cannot know when a package was uploaded (before this GCS started, for a
    // driver about to register its job): each is held from now.
    if (first_listing_) Hold(package, now_ms);
    auto held = held_until_ms_.find(package);
    if (held != held_until_ms_.end() && held->second > now_ms) continue;
    unused.push_back(std::move(package));
  }
  first_listing_ = false;
  // A hold past its end on a package no longer stored keeps nothing.
  absl::erase_if(held_until_ms_, [&](const auto& entry) {
    return entry.second <= now_ms && !stored.contains(entry.first);
  });
  // Each deletion answers in order: the last one's answer reports them all.
  auto deleted = std::make_shared<std::vector<std::string>>();
  for (size_t i = 0; i < unused.size(); ++i) {
    const std::string package = unused[i];
    held_until_ms_.erase(package);
    bool last = i + 1 == unused.size();
    store_.Delete(kKvTable, KvRowKey(kWorkingDirKvNamespace, package),
                  [package, deleted, last, done](absl::StatusOr<int64_t> count) {
                    if (!count.ok()) {
                      spdlog::warn("deleting working_dir package {}: {}", package, count.status().message());
                    } else if (*count > 0) {
                      spdlog::info("working_dir package {} deleted from the GCS: no job uses it", package);
                      deleted->push_back(package);
                    }
                    if (last && done) done(std::move(*deleted));
                  });
  }
  if (unused.empty() && done) done({});
}

}  // namespace orrery::gcs
