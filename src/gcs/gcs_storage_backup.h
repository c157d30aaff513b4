// GcsStorageBackup: `orrery gcs backup` on the GCS side. The copy is made on a thread of its
// own (a RocksDB checkpoint flushes and links files: milliseconds to seconds), never on the GCS
// loop, which answers the call when it is done. One backup at a time.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "src/gcs/gcs_handler.h"
#include "src/gcs/storage/store_client.h"

namespace orrery::gcs {

// Owned by the GCS server; handlers are called on the GCS loop, answers posted back to it.
class GcsStorageBackup final : public StorageHandler {
 public:
  GcsStorageBackup(StoreClient& store, std::string describe, StoreClient::Dispatcher dispatcher)
      : store_(store), describe_(std::move(describe)), dispatcher_(std::move(dispatcher)) {}
  // Waits for a backup in progress.
  ~GcsStorageBackup() override;

  void HandleBackupStorage(const rpc::BackupStorageRequest& request, rpc::BackupStorageReply* reply,
                           ReplyCallback done) override;

 private:
  StoreClient& store_;
  const std::string describe_;
  StoreClient::Dispatcher dispatcher_;
  std::thread worker_;
  bool busy_ = false;  // on the loop
};

}  // namespace orrery::gcs
