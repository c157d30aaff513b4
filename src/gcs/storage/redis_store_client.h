// RedisStoreClient: GCS tables in a Redis server, for a head that must come back on another
// host. hiredis on a thread of the storage's own, pipelined: the calls waiting when the thread
// wakes go out together and their replies are read back in order. Every key lives under a
// cluster prefix, so two clusters can share one Redis.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "src/gcs/storage/store_client.h"

namespace orrery::gcs {

// Parsed from redis://[user:password@]HOST:PORT[/db] or redis+unix://[user:password@]/PATH[?db=N].
struct RedisAddress {
  std::string host;         // empty for a Unix socket
  int port = 6379;
  std::string unix_socket;  // empty for TCP
  std::string user;         // empty: AUTH with the password only (or no AUTH without one)
  std::string password;
  int db = 0;

  // InvalidArgument naming the URL and what is wrong with it.
  static absl::StatusOr<RedisAddress> Parse(const std::string& url);
  // The URL without the password, for logs and messages.
  std::string ToString() const;
};

struct RedisStoreOptions {
  RedisAddress address;
  // Every key starts with this (e.g. "orrery:<cluster-name>:"). Not empty.
  std::string key_prefix;
  // How long Open() waits for a first connection; later, while Redis is down, calls wait
  // (reconnecting with back-off) rather than fail.
  int64_t connect_timeout_ms = 5000;
};

class RedisStoreClient final : public StoreClient {
 public:
  // Connects (and AUTHs, SELECTs) once. Unavailable naming the address when it cannot;
  // PermissionDenied when AUTH is refused.
  static absl::StatusOr<std::unique_ptr<RedisStoreClient>> Open(const RedisStoreOptions& options,
                                                                Dispatcher dispatcher);
  // Finishes what was called (or gives up on it after a short grace if Redis is gone), closes.
  ~RedisStoreClient() override;

  void Put(const std::string& table, const std::string& key, std::string value, bool overwrite,
           Callback<bool> done) override;
  void Get(const std::string& table, const std::string& key, Callback<std::optional<std::string>> done) override;
  void GetAll(const std::string& table, Callback<absl::flat_hash_map<std::string, std::string>> done) override;
  void Delete(const std::string& table, const std::string& key, Callback<int64_t> done) override;
  void DeleteByPrefix(const std::string& table, const std::string& prefix, Callback<int64_t> done) override;
  void Keys(const std::string& table, const std::string& prefix, Callback<std::vector<std::string>> done) override;
  void Exists(const std::string& table, const std::string& key, Callback<bool> done) override;
  absl::Status Checkpoint(const std::string& dir) override {
    return absl::FailedPreconditionError("the GCS keeps its tables in Redis: back it up with Redis's own tools "
                                         "(BGSAVE, or a replica), not into " + dir);
  }

 private:
  class Impl;
  explicit RedisStoreClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace orrery::gcs
