// What the driver, the raylets and the GCS agree on about a job's runtime environment: where
// its working_dir package is stored, and which environment variables a job, task or actor may
// set (runtime_env env_vars).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace orrery {

// A job's working_dir package is the GCS KV value at (this namespace, its SHA-256 in hex).
inline constexpr char kWorkingDirKvNamespace[] = "working_dir";

// What the job supervisor (`orrery job submit`) tells a driver it starts, for its Init(): the
// submission it runs for, the names of the job's variables (set in its own environment, and
// for its workers too), and the working_dir package it runs in, uploaded by the submitter.
inline constexpr char kSubmissionIdVariable[] = "ORRERY_SUBMISSION_ID";
inline constexpr char kJobEnvNamesVariable[] = "ORRERY_JOB_ENV_VARS";
inline constexpr char kJobWorkingDirPackageVariable[] = "ORRERY_JOB_WORKING_DIR_PACKAGE";

// Whether a job, task or actor may set the environment variable `name`. Orrery's own variables
// (ORRERY_*) and CUDA_VISIBLE_DEVICES (set from the GPUs a lease holds) are the runtime's.
inline absl::Status ValidateEnvVarName(const std::string& name) {
  if (name.empty() || name.find('=') != std::string::npos || name.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("runtime_env env_vars: '", name, "' is not a variable name (empty, or has '=' or NUL)"));
  }
  if (absl::StartsWith(name, "ORRERY_") || name == "CUDA_VISIBLE_DEVICES") {
    return absl::InvalidArgumentError(absl::StrCat("runtime_env env_vars: ", name,
                                                   " is set by Orrery for each worker and cannot be overridden"));
  }
  return absl::OkStatus();
}

}  // namespace orrery
