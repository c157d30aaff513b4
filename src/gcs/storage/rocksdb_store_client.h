// RocksDbStoreClient: GCS tables in an embedded RocksDB on local disk, the default storage of
// a head. One column family per table; each write goes through a WriteBatch on a storage thread
// of its own, so neither a sync nor a slow disk ever blocks the GCS event loop.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "src/gcs/storage/storage_sync.h"
#include "src/gcs/storage/store_client.h"

namespace orrery::gcs {

struct RocksDbStoreOptions {
  // A directory; created when missing.
  std::string path;
  StorageSync sync = StorageSync::kBatch;
};

class RocksDbStoreClient final : public StoreClient {
 public:
  // Opens (or creates) the database at options.path. Errors name the path and what is wrong:
  // DataLoss when it is corrupt or not a RocksDB database, FailedPrecondition when another
  // process holds it open, Unavailable for other I/O errors.
  static absl::StatusOr<std::unique_ptr<RocksDbStoreClient>> Open(const RocksDbStoreOptions& options,
                                                                  Dispatcher dispatcher);
  // Finishes what was called, syncs, closes. Callbacks already posted still run on the loop.
  ~RocksDbStoreClient() override;

  void Put(const std::string& table, const std::string& key, std::string value, bool overwrite,
           Callback<bool> done) override;
  void Get(const std::string& table, const std::string& key, Callback<std::optional<std::string>> done) override;
  void GetAll(const std::string& table, Callback<absl::flat_hash_map<std::string, std::string>> done) override;
  void Delete(const std::string& table, const std::string& key, Callback<int64_t> done) override;
  void DeleteByPrefix(const std::string& table, const std::string& prefix, Callback<int64_t> done) override;
  void Keys(const std::string& table, const std::string& prefix, Callback<std::vector<std::string>> done) override;
  void Exists(const std::string& table, const std::string& key, Callback<bool> done) override;

  // A consistent copy of the whole database in `dir` (must not exist yet), which Open() can
  // open: a RocksDB checkpoint (hard links where on the same file system). Blocking; any thread.
  absl::Status Checkpoint(const std::string& dir) override;

 private:
  class Impl;
  explicit RocksDbStoreClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace orrery::gcs
