// orrery-microbench's figures for a GCS that keeps its tables in durable storage (issue 21): how
// soon a killed GCS is back, what its outage costs running work, and what RocksDB costs the
// operations that go through the GCS.
#pragma once

#include "grpc_floor.h"

namespace orrery::bench {

// On three one-CPU raylets started with the CLI (a head whose GCS keeps its tables in RocksDB,
// synced in batches, under its supervisor orrery-head; two raylets joined) with 100 actors
// alive: tasks_async_gcs_up and tasks_async_gcs_down (1,000 no-op tasks submitted, then all
// awaited; the best of 36 rounds with the GCS up and of 36 with it killed and held down, in
// turns over two outages) and their ratio tasks_during_gcs_outage_ratio (target >= 0.9); then
// gcs_recovery_s, the median of 3 kills:
// from the new GCS's start until all three nodes are ALIVE in its view and a new actor's first
// call is answered (target <= 2 s). Call with Orrery not initialized; whatever it started is
// stopped and its temp root deleted, even when a step fails (which it reports on stderr).
void MeasureGcsRestart(const Reporter& report);

// actor_creation_per_s and placement_group_create_removal measured on fresh local clusters
// whose GCS keeps its tables in memory or in RocksDB (synced in batches), in the order memory,
// RocksDB, RocksDB, memory, the best of each pair: the figures with _memory and _rocksdb
// appended, and their ratios actor_creation_per_s_rocksdb_over_memory and
// placement_group_create_removal_rocksdb_over_memory (target >= 0.8). Call with Orrery not
// initialized; cleans up as MeasureGcsRestart does.
void MeasureGcsStorageCost(const Reporter& report);

}  // namespace orrery::bench
