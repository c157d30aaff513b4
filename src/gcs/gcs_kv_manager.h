// GcsKvManager: the internal key-value store, namespaced (jobs' uploaded code, cluster
// metadata, what later components need to share through the head).
#pragma once

#include "src/gcs/gcs_handler.h"
#include "src/gcs/storage/store_client.h"

namespace orrery::gcs {

// Owned and called by the GCS event loop only.
class GcsKvManager final : public KvHandler {
 public:
  explicit GcsKvManager(StoreClient& store) : store_(store) {}

  void HandleKvGet(const rpc::KvGetRequest& request, rpc::KvGetReply* reply, ReplyCallback done) override;
  void HandleKvPut(const rpc::KvPutRequest& request, rpc::KvPutReply* reply, ReplyCallback done) override;
  void HandleKvDel(const rpc::KvDelRequest& request, rpc::KvDelReply* reply, ReplyCallback done) override;
  void HandleKvExists(const rpc::KvExistsRequest& request, rpc::KvExistsReply* reply, ReplyCallback done) override;
  void HandleKvKeys(const rpc::KvKeysRequest& request, rpc::KvKeysReply* reply, ReplyCallback done) override;

 private:
  StoreClient& store_;
};

}  // namespace orrery::gcs
