// How durable an acknowledged GCS write is (--gcs-storage-sync).
#pragma once

#include <cstdint>

namespace orrery::gcs {

enum class StorageSync {
  // Every write is synced to disk before it is acknowledged (writes that arrive together share
  // one sync: group commit).
  kAlways,
  // Writes reach the log (the OS page cache) before they are acknowledged, and the log is synced
  // at least every kBatchSyncIntervalMs: a process crash loses nothing acknowledged, a power
  // loss at most that much.
  kBatch,
};

inline constexpr int64_t kBatchSyncIntervalMs = 5;

}  // namespace orrery::gcs
