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
