// StoreClient: the one storage interface every GCS table writes through: in memory, RocksDB
// on local disk, or Redis (store_factory.h picks one from --gcs-storage).
// Asynchronous by contract: callbacks run later on the GCS event loop, never inside the call,
// and in the order the calls were made. A write's callback means it is stored as durably as
// the backend's sync policy promises; a read sees every write called before it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace orrery::gcs {

class StoreClient {
 public:
  template <typename T>
  using Callback = std::function<void(absl::StatusOr<T>)>;
  // Runs a callback on the GCS event loop.
  using Dispatcher = std::function<void(std::function<void()>)>;

  virtual ~StoreClient() = default;

  // Stores `value` under `key`; with !overwrite an existing key keeps its value.
  // Answers whether the key is new.
  virtual void Put(const std::string& table, const std::string& key, std::string value, bool overwrite,
                   Callback<bool> done) = 0;
  virtual void Get(const std::string& table, const std::string& key, Callback<std::optional<std::string>> done) = 0;
  virtual void GetAll(const std::string& table, Callback<absl::flat_hash_map<std::string, std::string>> done) = 0;
  // Answers how many keys were deleted.
  virtual void Delete(const std::string& table, const std::string& key, Callback<int64_t> done) = 0;
  virtual void DeleteByPrefix(const std::string& table, const std::string& prefix, Callback<int64_t> done) = 0;
  virtual void Keys(const std::string& table, const std::string& prefix, Callback<std::vector<std::string>> done) = 0;
  virtual void Exists(const std::string& table, const std::string& key, Callback<bool> done) = 0;

  // A consistent copy of everything stored, in `dir` (which must not exist), that the same
  // backend opens. Blocking: call it off the GCS loop. An error where the backend's own tools
  // do it better (Redis: BGSAVE) or there is nothing to keep (memory).
  virtual absl::Status Checkpoint(const std::string& dir) = 0;
};

}  // namespace orrery::gcs
