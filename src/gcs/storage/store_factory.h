// Which StoreClient a GCS keeps its tables in, from --gcs-storage:
//   memory                  nothing survives the process (tests, a driver's own local cluster)
//   rocksdb:PATH            embedded RocksDB in the directory PATH (the default of a head)
//   redis://...             a Redis server (redis_store_client.h for the URL forms)
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/gcs/storage/redis_store_client.h"
#include "src/gcs/storage/storage_sync.h"
#include "src/gcs/storage/store_client.h"

namespace orrery::gcs {

struct StorageSpec {
  enum class Kind { kMemory, kRocksDb, kRedis };
  Kind kind = Kind::kMemory;
  std::string rocksdb_path;
  RedisAddress redis;

  // InvalidArgument naming the spec and the forms accepted.
  static absl::StatusOr<StorageSpec> Parse(const std::string& spec);
  // For logs and messages (no password).
  std::string ToString() const;
  bool durable() const { return kind != Kind::kMemory; }
};

absl::StatusOr<StorageSync> ParseStorageSync(const std::string& sync);

struct OpenStoreOptions {
  StorageSync sync = StorageSync::kBatch;
  // Every Redis key starts with this; two clusters sharing a Redis need two prefixes.
  std::string redis_key_prefix = "orrery:";
  // Starts empty, whatever was stored (--gcs-storage-reset): RocksDB's directory is deleted,
  // Redis's tables in `tables` under the prefix are.
  bool reset = false;
  std::vector<std::string> tables;
};

// Opens the storage `spec` names; errors name it and what is wrong.
absl::StatusOr<std::unique_ptr<StoreClient>> OpenStore(const StorageSpec& spec, const OpenStoreOptions& options,
                                                       StoreClient::Dispatcher dispatcher);

}  // namespace orrery::gcs
