#include "src/gcs/gcs_storage_backup.h"

#include "absl/strings/str_cat.h"
#include "src/common/log.h"

namespace orrery::gcs {

GcsStorageBackup::~GcsStorageBackup() {
  if (worker_.joinable()) worker_.join();
}

void GcsStorageBackup::HandleBackupStorage(const rpc::BackupStorageRequest& request, rpc::BackupStorageReply* reply,
                                           ReplyCallback done) {
  const std::string& path = request.path();
  if (path.empty() || path[0] != '/') {
    return done(absl::InvalidArgumentError("BackupStorage: path '" + path +
                                           "' must be absolute (it is written on the head's host)"));
  }
  if (busy_) return done(absl::UnavailableError("a backup of the GCS storage is already being made"));
  busy_ = true;
  if (worker_.joinable()) worker_.join();  // the previous one has answered: it is done
  spdlog::info("backing up the GCS storage {} into {}", describe_, path);
  worker_ = std::thread([this, path, reply, done = std::move(done)]() mutable {
    absl::Status status = store_.Checkpoint(path);
    dispatcher_([this, status, path, reply, done = std::move(done)] {
      busy_ = false;
      if (status.ok()) {
        reply->set_storage("rocksdb:" + path);
        spdlog::info("backed up the GCS storage into {}", path);
      }
      done(status);
    });
  });
}

}  // namespace orrery::gcs
