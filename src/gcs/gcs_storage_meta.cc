#include "src/gcs/gcs_storage_meta.h"

#include "absl/strings/str_cat.h"
#include "orrery/version.h"
#include "src/common/clock.h"
#include "src/common/log.h"
#include "src/common/status.h"
#include "src/gcs/gcs_table_storage.h"

namespace orrery::gcs {

namespace {
constexpr char kMetaKey[] = "cluster";

void Store(StoreClient& store, const rpc::GcsStorageMeta& meta, std::function<void(absl::Status)> done) {
  store.Put(kMetaTable, kMetaKey, meta.SerializeAsString(), /*overwrite=*/true,
            [done = std::move(done)](absl::StatusOr<bool> added) { done(added.status()); });
}

// The stored record's verdict on this GCS's token: the token to use, or why not.
absl::StatusOr<std::string> ChooseToken(const rpc::GcsStorageMeta& meta, const std::string& describe,
                                        const std::string& token, TokenOrigin origin) {
  if (meta.token() == token) return token;
  switch (origin) {
    case TokenOrigin::kGenerated:
      return meta.token();
    case TokenOrigin::kEnvironment:
      spdlog::warn("ORRERY_TOKEN in the environment differs from the token of the cluster stored in {}: ignoring it",
                   describe);
      return meta.token();
    case TokenOrigin::kExplicit:
      break;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the token given (--token or the token file) differs from the token of the cluster stored in ", describe,
      ": start without --token to keep the stored cluster's token, or with --gcs-storage-reset to start a new cluster"));
}
}  // namespace

absl::StatusOr<TokenOrigin> ParseTokenOrigin(const std::string& origin) {
  if (origin == "generated") return TokenOrigin::kGenerated;
  if (origin == "environment") return TokenOrigin::kEnvironment;
  if (origin == "explicit") return TokenOrigin::kExplicit;
  return absl::InvalidArgumentError("--token-origin '" + origin + "' is none of generated, environment, explicit");
}

void ClaimStorage(StoreClient& store, const std::string& describe, const std::string& token, TokenOrigin origin,
                  const WorkerId& holder, std::function<void(absl::StatusOr<ClaimedStorage>)> done) {
  store.Get(kMetaTable, kMetaKey, [&store, describe, token, origin, holder, done = std::move(done)](
                                      absl::StatusOr<std::optional<std::string>> bytes) mutable {
    if (!bytes.ok()) return done(Annotate(bytes.status(), "reading the GCS storage at " + describe));
    ClaimedStorage claimed;
    rpc::GcsStorageMeta& meta = claimed.meta;
    if (bytes->has_value()) {
      if (!meta.ParseFromString(**bytes)) {
        return done(absl::DataLossError("the GCS storage at " + describe +
                                        " has a cluster record that does not parse: it is damaged or not Orrery's "
                                        "(--gcs-storage-reset starts empty)"));
      }
      if (meta.format_version() != kStorageFormatVersion) {
        return done(absl::FailedPreconditionError(absl::StrCat(
            "the GCS storage at ", describe, " was written by Orrery ", meta.orrery_version(), " (storage format ",
            meta.format_version(), "); this is Orrery ", ORRERY_VERSION_STRING, " (storage format ",
            kStorageFormatVersion, ")")));
      }
      auto chosen = ChooseToken(meta, describe, token, origin);
      if (!chosen.ok()) return done(chosen.status());
      claimed.token = *chosen;
      claimed.restored = true;
    } else {
      meta.set_format_version(kStorageFormatVersion);
      meta.set_cluster_id(ClusterId::FromRandom().Binary());
      meta.set_token(token);
      meta.set_created_ms(NowMs());
      claimed.token = token;
    }
    meta.set_orrery_version(ORRERY_VERSION_STRING);
    meta.add_actor_lease_holders(holder.Binary());
    rpc::GcsStorageMeta stored = meta;  // `claimed` moves into the callback below
    Store(store, stored, [claimed = std::move(claimed), describe, done = std::move(done)](absl::Status status) mutable {
      if (!status.ok()) return done(Annotate(status, "writing the GCS storage at " + describe));
      done(std::move(claimed));
    });
  });
}

void ForgetEarlierHolders(StoreClient& store, rpc::GcsStorageMeta meta, const WorkerId& current,
                          std::function<void(absl::Status)> done) {
  meta.clear_actor_lease_holders();
  meta.add_actor_lease_holders(current.Binary());
  Store(store, meta, std::move(done));
}

}  // namespace orrery::gcs
