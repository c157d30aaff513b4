#include "src/gcs/storage/store_factory.h"

#include <filesystem>
#include <future>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/gcs/storage/in_memory_store_client.h"
#include "src/gcs/storage/rocksdb_store_client.h"

namespace orrery::gcs {

absl::StatusOr<StorageSpec> StorageSpec::Parse(const std::string& spec) {
  StorageSpec parsed;
  if (spec == "memory") return parsed;
  if (absl::StartsWith(spec, "rocksdb:")) {
    parsed.kind = Kind::kRocksDb;
    parsed.rocksdb_path = spec.substr(std::string("rocksdb:").size());
    if (parsed.rocksdb_path.empty()) {
      return absl::InvalidArgumentError("--gcs-storage rocksdb: needs a directory: rocksdb:PATH");
    }
    return parsed;
  }
  if (absl::StartsWith(spec, "redis://") || absl::StartsWith(spec, "redis+unix://")) {
    parsed.kind = Kind::kRedis;
    auto address = RedisAddress::Parse(spec);
    if (!address.ok()) return address.status();
    parsed.redis = *address;
    return parsed;
  }
  return absl::InvalidArgumentError(absl::StrCat("--gcs-storage '", absl::StartsWith(spec, "redis") ? "redis..." : spec,
                                                 "' is none of: memory, rocksdb:PATH, "
                                                 "redis://[user:password@]HOST:PORT[/db], redis+unix:///PATH"));
}

std::string StorageSpec::ToString() const {
  switch (kind) {
    case Kind::kMemory:
      return "memory";
    case Kind::kRocksDb:
      return "rocksdb:" + rocksdb_path;
    case Kind::kRedis:
      return redis.ToString();
  }
  return "?";
}

absl::StatusOr<StorageSync> ParseStorageSync(const std::string& sync) {
  if (sync == "batch") return StorageSync::kBatch;
  if (sync == "always") return StorageSync::kAlways;
  return absl::InvalidArgumentError("--gcs-storage-sync '" + sync + "' is neither 'always' nor 'batch'");
}

namespace {

// Empties `tables` of a freshly opened store, waiting for each (called before the GCS serves).
absl::Status DeleteTables(StoreClient& store, const std::vector<std::string>& tables) {
  for (const std::string& table : tables) {
    std::promise<absl::Status> deleted;
    store.DeleteByPrefix(table, "", [&deleted](absl::StatusOr<int64_t> n) { deleted.set_value(n.status()); });
    if (absl::Status status = deleted.get_future().get(); !status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<StoreClient>> OpenStore(const StorageSpec& spec, const OpenStoreOptions& options,
                                                       StoreClient::Dispatcher dispatcher) {
  switch (spec.kind) {
    case StorageSpec::Kind::kMemory:
      return std::make_unique<InMemoryStoreClient>(std::move(dispatcher));
    case StorageSpec::Kind::kRocksDb: {
      if (options.reset) {
        std::error_code ec;
        std::filesystem::remove_all(spec.rocksdb_path, ec);
        if (ec) {
          return absl::UnavailableError(
              absl::StrCat("--gcs-storage-reset: cannot delete ", spec.rocksdb_path, ": ", ec.message()));
        }
      }
      // It holds the cluster's token: readable by its owner only, when we make it.
      if (std::error_code ec; !std::filesystem::exists(spec.rocksdb_path, ec)) {
        std::filesystem::create_directories(spec.rocksdb_path, ec);
        if (!ec) std::filesystem::permissions(spec.rocksdb_path, std::filesystem::perms::owner_all, ec);
      }
      auto store = RocksDbStoreClient::Open(RocksDbStoreOptions{spec.rocksdb_path, options.sync}, std::move(dispatcher));
      if (absl::IsDataLoss(store.status())) {
        // Never a silent empty cluster: the operator decides.
        return absl::DataLossError(absl::StrCat(store.status().message(),
                                                " (restore a backup into it, or start with --gcs-storage-reset to "
                                                "delete it and start an empty cluster)"));
      }
      if (!store.ok()) return store.status();
      return std::unique_ptr<StoreClient>(std::move(*store));
    }
    case StorageSpec::Kind::kRedis: {
      // Reset answers on a thread of its own, not the (not yet running) GCS loop.
      auto direct = [](std::function<void()> fn) { fn(); };
      RedisStoreOptions redis{spec.redis, options.redis_key_prefix};
      if (options.reset) {
        auto store = RedisStoreClient::Open(redis, direct);
        if (!store.ok()) return store.status();
        if (absl::Status status = DeleteTables(**store, options.tables); !status.ok()) return status;
      }
      auto store = RedisStoreClient::Open(redis, std::move(dispatcher));
      if (!store.ok()) return store.status();
      return std::unique_ptr<StoreClient>(std::move(*store));
    }
  }
  return absl::InternalError("unknown storage kind");
}

}  // namespace orrery::gcs
