// StoreServer: the shared-memory object store as the raylet runs it. It creates the region,
// listens on a Unix socket (in a 0700 directory; each peer's uid is checked with SO_PEERCRED),
// hands every client the region's descriptor once, and serves the Store's operations.
//
// Threading: the store has its own loop thread (it must answer clients while the raylet's loop
// is busy), and every connection and Store call lives on it. A client that sends garbage is
// logged and disconnected; the others are unaffected.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/object_store/store.h"

namespace orrery::object_store {

struct StoreServerOptions {
  std::string socket_path;
  size_t capacity = 0;
  bool prefault = false;
  // Empty: never spill.
  std::string spill_dir;
  double spill_high_water = 0.8;
};

class StoreServer {
 public:
  static absl::StatusOr<std::unique_ptr<StoreServer>> Start(StoreServerOptions options);
  ~StoreServer();
  StoreServer(const StoreServer&) = delete;
  StoreServer& operator=(const StoreServer&) = delete;

  // Stops serving: connections close, the socket file goes. Idempotent.
  void Stop();
  const std::string& socket_path() const;
  size_t capacity() const;
  // A snapshot, taken on the store's thread. Blocks the caller briefly.
  StoreCounters Counters();
  // Store::List, taken on the store's thread. Blocks the caller briefly.
  std::vector<StoredObject> List(size_t limit);
  // The worker died: its objects are deleted (see Store::DeleteOwnedBy). Returns at once.
  void DeleteOwnedBy(const WorkerId& owner);

  class Impl;

 private:
  explicit StoreServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace orrery::object_store
