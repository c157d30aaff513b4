#include "src/gcs/storage/in_memory_store_client.h"

namespace orrery::gcs {

namespace {
bool HasPrefix(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }
}  // namespace

void InMemoryStoreClient::Put(const std::string& table, const std::string& key, std::string value, bool overwrite,
                              Callback<bool> done) {
  auto& rows = tables_[table];
  auto it = rows.find(key);
  bool added = it == rows.end();
  if (added) {
    rows.emplace(key, std::move(value));
  } else if (overwrite) {
    it->second = std::move(value);
  }
  Answer(std::move(done), added);
}

void InMemoryStoreClient::Get(const std::string& table, const std::string& key,
                              Callback<std::optional<std::string>> done) {
  std::optional<std::string> value;
  auto t = tables_.find(table);
  if (t != tables_.end()) {
    auto it = t->second.find(key);
    if (it != t->second.end()) value = it->second;
  }
  Answer(std::move(done), std::move(value));
}

void InMemoryStoreClient::GetAll(const std::string& table,
                                 Callback<absl::flat_hash_map<std::string, std::string>> done) {
  absl::flat_hash_map<std::string, std::string> all;
  auto t = tables_.find(table);
  if (t != tables_.end()) all.insert(t->second.begin(), t->second.end());
  Answer(std::move(done), std::move(all));
}

void InMemoryStoreClient::Delete(const std::string& table, const std::string& key, Callback<int64_t> done) {
  int64_t deleted = 0;
  auto t = tables_.find(table);
  if (t != tables_.end()) deleted = static_cast<int64_t>(t->second.erase(key));
  Answer(std::move(done), deleted);
}

void InMemoryStoreClient::DeleteByPrefix(const std::string& table, const std::string& prefix,
                                         Callback<int64_t> done) {
  int64_t deleted = 0;
  auto t = tables_.find(table);
  if (t != tables_.end()) {
    auto it = t->second.lower_bound(prefix);
    while (it != t->second.end() && HasPrefix(it->first, prefix)) {
      it = t->second.erase(it);
      ++deleted;
    }
  }
  Answer(std::move(done), deleted);
}

void InMemoryStoreClient::Keys(const std::string& table, const std::string& prefix,
                               Callback<std::vector<std::string>> done) {
  std::vector<std::string> keys;
  auto t = tables_.find(table);
  if (t != tables_.end()) {
    for (auto it = t->second.lower_bound(prefix); it != t->second.end() && HasPrefix(it->first, prefix); ++it) {
      keys.push_back(it->first);
    }
  }
  Answer(std::move(done), std::move(keys));
}

void InMemoryStoreClient::Exists(const std::string& table, const std::string& key, Callback<bool> done) {
  auto t = tables_.find(table);
  bool exists = t != tables_.end() && t->second.count(key) > 0;
  Answer(std::move(done), exists);
}

}  // namespace orrery::gcs
