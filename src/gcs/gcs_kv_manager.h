// GcsKvManager: the internal key-value store, namespaced (jobs' uploaded code, cluster
// metadata, what later components need to share through the head).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "src/gcs/gcs_handler.h"
#include "src/gcs/storage/store_client.h"

namespace orrery::gcs {

// The row of (namespace, key) in the store's KV table: one namespace is one prefix range.
std::string KvRowKey(const std::string& ns, const std::string& key);

// Owned and called by the GCS event loop only.
class GcsKvManager final : public KvHandler {
 public:
  // Called with (namespace, key) when a client stores a key or asks whether it exists.
  using AccessListener = std::function<void(const std::string& ns, const std::string& key)>;

  explicit GcsKvManager(StoreClient& store) : store_(store) {}
  void AddAccessListener(AccessListener listener) { access_listeners_.push_back(std::move(listener)); }

  void HandleKvGet(const rpc::KvGetRequest& request, rpc::KvGetReply* reply, ReplyCallback done) override;
  void HandleKvPut(const rpc::KvPutRequest& request, rpc::KvPutReply* reply, ReplyCallback done) override;
  void HandleKvDel(const rpc::KvDelRequest& request, rpc::KvDelReply* reply, ReplyCallback done) override;
  void HandleKvExists(const rpc::KvExistsRequest& request, rpc::KvExistsReply* reply, ReplyCallback done) override;
  void HandleKvKeys(const rpc::KvKeysRequest& request, rpc::KvKeysReply* reply, ReplyCallback done) override;

 private:
  void Accessed(const std::string& ns, const std::string& key) const;

  StoreClient& store_;
  std::vector<AccessListener> access_listeners_;
};

}  // namespace orrery::gcs
