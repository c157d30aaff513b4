#include "src/gcs/gcs_kv_manager.h"

#include "src/gcs/gcs_table_storage.h"

namespace orrery::gcs {

namespace {

// Rows are "<namespace>\0<key>" (KvRowKey), so one namespace is one prefix range.
constexpr char kSeparator = '\0';

absl::Status CheckNamespace(const std::string& ns) {
  if (ns.find(kSeparator) != std::string::npos) return absl::InvalidArgumentError("KV namespace contains a NUL byte");
  return absl::OkStatus();
}

}  // namespace

std::string KvRowKey(const std::string& ns, const std::string& key) { return ns + kSeparator + key; }

void GcsKvManager::Accessed(const std::string& ns, const std::string& key) const {
  for (const AccessListener& listener : access_listeners_) listener(ns, key);
}

void GcsKvManager::HandleKvGet(const rpc::KvGetRequest& request, rpc::KvGetReply* reply, ReplyCallback done) {
  if (absl::Status status = CheckNamespace(request.namespace_()); !status.ok()) return done(status);
  store_.Get(kKvTable, KvRowKey(request.namespace_(), request.key()),
             [reply, done](absl::StatusOr<std::optional<std::string>> value) {
               if (!value.ok()) return done(value.status());
               reply->set_found(value->has_value());
               if (value->has_value()) reply->set_value(std::move(**value));
               done(absl::OkStatus());
             });
}

void GcsKvManager::HandleKvPut(const rpc::KvPutRequest& request, rpc::KvPutReply* reply, ReplyCallback done) {
  if (absl::Status status = CheckNamespace(request.namespace_()); !status.ok()) return done(status);
  if (request.key().empty()) return done(absl::InvalidArgumentError("KV key is empty"));
  Accessed(request.namespace_(), request.key());
  store_.Put(kKvTable, KvRowKey(request.namespace_(), request.key()), request.value(), request.overwrite(),
             [reply, done](absl::StatusOr<bool> added) {
               if (!added.ok()) return done(added.status());
               reply->set_added(*added);
               done(absl::OkStatus());
             });
}

void GcsKvManager::HandleKvDel(const rpc::KvDelRequest& request, rpc::KvDelReply* reply, ReplyCallback done) {
  if (absl::Status status = CheckNamespace(request.namespace_()); !status.ok()) return done(status);
  auto answer = [reply, done](absl::StatusOr<int64_t> deleted) {
    if (!deleted.ok()) return done(deleted.status());
    reply->set_deleted(*deleted);
    done(absl::OkStatus());
  };
  std::string row = KvRowKey(request.namespace_(), request.key());
  if (request.by_prefix()) {
    store_.DeleteByPrefix(kKvTable, row, answer);
  } else {
    store_.Delete(kKvTable, row, answer);
  }
}

void GcsKvManager::HandleKvExists(const rpc::KvExistsRequest& request, rpc::KvExistsReply* reply,
                                  ReplyCallback done) {
  if (absl::Status status = CheckNamespace(request.namespace_()); !status.ok()) return done(status);
  Accessed(request.namespace_(), request.key());
  store_.Exists(kKvTable, KvRowKey(request.namespace_(), request.key()), [reply, done](absl::StatusOr<bool> exists) {
    if (!exists.ok()) return done(exists.status());
    reply->set_exists(*exists);
    done(absl::OkStatus());
  });
}

void GcsKvManager::HandleKvKeys(const rpc::KvKeysRequest& request, rpc::KvKeysReply* reply, ReplyCallback done) {
  if (absl::Status status = CheckNamespace(request.namespace_()); !status.ok()) return done(status);
  size_t strip = request.namespace_().size() + 1;
  store_.Keys(kKvTable, KvRowKey(request.namespace_(), request.prefix()),
              [reply, done, strip](absl::StatusOr<std::vector<std::string>> keys) {
                if (!keys.ok()) return done(keys.status());
                for (const auto& key : *keys) reply->add_keys(key.substr(strip));
                done(absl::OkStatus());
              });
}

}  // namespace orrery::gcs
