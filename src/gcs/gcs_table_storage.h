// GcsTable<T>: a typed table of protobuf rows over the StoreClient, one per GCS table.
#pragma once

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "src/common/log.h"
#include "src/gcs/storage/store_client.h"

namespace orrery::gcs {

// Table names, one place.
inline constexpr char kNodeTable[] = "nodes";
inline constexpr char kJobTable[] = "jobs";
inline constexpr char kKvTable[] = "kv";
inline constexpr char kWorkerFailureTable[] = "worker_failures";
inline constexpr char kCounterTable[] = "counters";
inline constexpr char kActorTable[] = "actors";
inline constexpr char kPlacementGroupTable[] = "placement_groups";
inline constexpr char kJobSubmissionTable[] = "job_submissions";
inline constexpr char kMetaTable[] = "meta";

// Every table, for --gcs-storage-reset on a shared store.
inline const std::vector<std::string>& AllTables() {
  static const auto* tables = new std::vector<std::string>{kNodeTable, kJobTable,   kKvTable,  kWorkerFailureTable,
                                                           kCounterTable, kActorTable, kPlacementGroupTable,
                                                           kJobSubmissionTable, kMetaTable};
  return *tables;
}

template <typename Row>
class GcsTable {
 public:
  GcsTable(StoreClient& store, std::string name) : store_(store), name_(std::move(name)) {}

  void Put(const std::string& key, const Row& row, std::function<void(absl::Status)> done) {
    store_.Put(name_, key, row.SerializeAsString(), /*overwrite=*/true,
               [done = std::move(done)](absl::StatusOr<bool> added) { done(added.status()); });
  }

  void Delete(const std::string& key, std::function<void(absl::Status)> done) {
    store_.Delete(name_, key, [done = std::move(done)](absl::StatusOr<int64_t> n) { done(n.status()); });
  }

  // Runs `done` once every write called before it is stored (the store answers in call order),
  // with the status of this barrier: for answering a call whose changes were several writes.
  void AfterEarlierWrites(std::function<void(absl::Status)> done) {
    store_.Exists(name_, "", [done = std::move(done)](absl::StatusOr<bool> exists) { done(exists.status()); });
  }

  // Every row; rows that do not parse are skipped and logged (a store is not a peer we trust
  // blindly, but one bad row must not stop the GCS).
  void GetAll(std::function<void(absl::StatusOr<absl::flat_hash_map<std::string, Row>>)> done) {
    store_.GetAll(name_, [name = name_, done = std::move(done)](
                             absl::StatusOr<absl::flat_hash_map<std::string, std::string>> all) {
      if (!all.ok()) {
        done(all.status());
        return;
      }
      absl::flat_hash_map<std::string, Row> rows;
      for (const auto& [key, bytes] : *all) {
        Row row;
        if (!row.ParseFromString(bytes)) {
          spdlog::error("GCS table {}: skipping a row that does not parse", name);
          continue;
        }
        rows.emplace(key, std::move(row));
      }
      done(std::move(rows));
    });
  }

 private:
  StoreClient& store_;
  std::string name_;
};

}  // namespace orrery::gcs
