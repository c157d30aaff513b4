// Status helpers used throughout the runtime: the two macros open-source Abseil lacks, and
// small constructors for the errors every component raises.
#pragma once

#include "absl/strings/string_view.h"
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns the status from the enclosing function when `expr` is not OK.
#define ORRERY_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status orrery_status_ = (expr);          \
    if (!orrery_status_.ok()) return orrery_status_; \
  } while (0)

#define ORRERY_STATUS_CONCAT_INNER_(a, b) a##b
#define ORRERY_STATUS_CONCAT_(a, b) ORRERY_STATUS_CONCAT_INNER_(a, b)

// `ORRERY_ASSIGN_OR_RETURN(auto x, Foo());` assigns the value of a StatusOr or returns its error.
#define ORRERY_ASSIGN_OR_RETURN(lhs, rexpr) \
  ORRERY_ASSIGN_OR_RETURN_IMPL_(ORRERY_STATUS_CONCAT_(orrery_statusor_, __LINE__), lhs, rexpr)

#define ORRERY_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

namespace orrery {

// Prepends context to an error, keeping its code: "while X: <original message>".
inline absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), std::string(context) + ": " + std::string(status.message()));
}

// errno as a Status naming what failed: "open /x/y: No such file or directory".
absl::Status ErrnoStatus(absl::string_view what, int err);

// A node cannot set up what a lease's workers need (the job's working_dir). Marked, so the
// lease is answered RUNTIME_ENV_SETUP_FAILED, as a typed failure, instead of an RPC error.
absl::Status RuntimeEnvSetupError(absl::string_view message);
bool IsRuntimeEnvSetupError(const absl::Status& status);

}  // namespace orrery
