// Storing a working_dir package in the GCS KV, where every node (and the job supervisor)
// fetches it by its hash. Shared by a driver's Init() and `orrery job submit`.
#pragma once

#include "absl/status/status.h"
#include "src/common/directory_package.h"
#include "src/gcs/client/gcs_client.h"

namespace orrery::gcs {

// Stores `package` under kWorkingDirKvNamespace/<sha256>, unless an identical one is there
// already (the same hash): an unchanged folder is sent once, however many jobs use it.
absl::Status UploadPackage(GrpcGcsClient& gcs, const DirectoryPackage& package);

}  // namespace orrery::gcs
