// Registrations carry the Orrery version; every process of a cluster must run the same one.
#pragma once

#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace orrery::rpc {

// FailedPrecondition naming both versions when `peer_version` differs from this build's.
// `who` says which peer registers: "raylet 127.0.0.1:4000", "worker 1a2b...".
absl::Status CheckVersion(absl::string_view who, absl::string_view peer_version);

}  // namespace orrery::rpc
