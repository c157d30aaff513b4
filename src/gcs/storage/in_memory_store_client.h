// InMemoryStoreClient: StoreClient over ordered maps, answering through the GCS loop.
#pragma once

#include <map>

#include "src/gcs/storage/store_client.h"

namespace orrery::gcs {

// Owned and called by the GCS event loop only; answers are posted through `dispatcher` so
// that callers see the same asynchrony as with a remote store.
class InMemoryStoreClient final : public StoreClient {
 public:
  explicit InMemoryStoreClient(Dispatcher dispatcher) : dispatcher_(std::move(dispatcher)) {}

  void Put(const std::string& table, const std::string& key, std::string value, bool overwrite,
           Callback<bool> done) override;
  void Get(const std::string& table, const std::string& key, Callback<std::optional<std::string>> done) override;
  void GetAll(const std::string& table, Callback<absl::flat_hash_map<std::string, std::string>> done) override;
  void Delete(const std::string& table, const std::string& key, Callback<int64_t> done) override;
  void DeleteByPrefix(const std::string& table, const std::string& prefix, Callback<int64_t> done) override;
  void Keys(const std::string& table, const std::string& prefix, Callback<std::vector<std::string>> done) override;
  void Exists(const std::string& table, const std::string& key, Callback<bool> done) override;
  absl::Status Checkpoint(const std::string& dir) override {
    return absl::FailedPreconditionError("the GCS keeps its tables in memory: there is no storage to back up (" +
                                         dir + ")");
  }

 private:
  template <typename T>
  void Answer(Callback<T> done, T value) {
    dispatcher_([done = std::move(done), value = std::move(value)]() mutable { done(std::move(value)); });
  }

  Dispatcher dispatcher_;
  // Ordered, so that prefix scans are a range.
  std::map<std::string, std::map<std::string, std::string>> tables_;
};

}  // namespace orrery::gcs
