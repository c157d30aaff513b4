// The driver's side of a job's runtime environment: its working_dir packed and stored in the
// GCS, and the job config that tells every node to run the job's workers in it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "orrery/config.h"
#include "orrery/gcs.pb.h"
#include "src/common/directory_package.h"
#include "src/gcs/client/gcs_client.h"

namespace orrery::api {

// For a driver the job supervisor started (`orrery job submit`): adds the job's variables to
// config.runtime_env (the config's own values win) and, when the job has a working_dir and the
// config names none, makes the current folder (the supervisor's unpacked copy) the
// working_dir and returns its package's hash, uploaded already. nullopt otherwise.
std::optional<std::string> AdoptJobSubmission(Config& config);

// Checks config.runtime_env and packs config.working_dir (nullopt when it names none), before
// anything starts; a package uploaded already (`submitted`, its hash) is not packed again.
// Throws OrreryException naming the folder, variable or limit at fault.
std::optional<DirectoryPackage> PrepareRuntimeEnv(const Config& config,
                                                  const std::optional<std::string>& submitted = std::nullopt);

// Stores the package in the GCS KV, unless an identical one is there already (same hash).
void UploadWorkingDir(gcs::GrpcGcsClient& gcs, const DirectoryPackage& package, const std::string& address);

// Sets the job's environment variables and, with a working_dir, its package; a worker program
// inside the working_dir (this program, in single-binary mode) is then named relative to it, so
// each node runs its own copy.
void ApplyRuntimeEnv(const Config& config, const std::optional<DirectoryPackage>& package, rpc::JobConfig& job);

// config.code_search_path as the job's workers resolve it: with a working_dir, relative entries
// stay relative (workers start in their node's copy of it); without, they are made absolute
// from the driver's current folder.
std::vector<std::string> CodeSearchPath(const Config& config);

}  // namespace orrery::api
