// The record a GCS storage keeps about its cluster (cluster id, token, Orrery version, lease
// holders), and the checks a GCS makes before it restores from it: storage of another format
// or another cluster's token is refused, never silently reused or emptied.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "orrery/gcs.pb.h"
#include "src/common/id.h"
#include "src/gcs/storage/store_client.h"

namespace orrery::gcs {

// Bumped when a stored row changes meaning.
inline constexpr int kStorageFormatVersion = 1;

// Where the token a GCS was started with came from: it decides what happens when it differs
// from the stored one (the stored one is the cluster's).
enum class TokenOrigin {
  kGenerated,    // made fresh by `orrery start --head`: the stored token wins, quietly
  kEnvironment,  // ORRERY_TOKEN left in the environment: the stored one wins, with a warning
  kExplicit,     // --token or a token file given by the operator: a different one is refused
};
absl::StatusOr<TokenOrigin> ParseTokenOrigin(const std::string& origin);

struct ClaimedStorage {
  rpc::GcsStorageMeta meta;  // as stored now, this instance's lease holder last
  bool restored = false;     // false: the storage was empty, a new cluster
  std::string token;         // the cluster's token from now on
};

// Reads the storage's record (`describe` names the storage in messages), checks it and stores
// this instance's: a new record on empty storage, else the old one with `holder` appended.
// Runs on the GCS loop; `done` too.
void ClaimStorage(StoreClient& store, const std::string& describe, const std::string& token, TokenOrigin origin,
                  const WorkerId& holder, std::function<void(absl::StatusOr<ClaimedStorage>)> done);

// Forgets the lease holders before `current` once their leases are released everywhere.
void ForgetEarlierHolders(StoreClient& store, rpc::GcsStorageMeta meta, const WorkerId& current,
                          std::function<void(absl::Status)> done);

}  // namespace orrery::gcs
