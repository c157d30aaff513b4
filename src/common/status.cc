#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "src/common/status.h"

#include <cerrno>
#include <cstring>

namespace orrery {
namespace {
constexpr char kRuntimeEnvSetupPayload[] = "type.orrery/runtime_env_setup_failed";
}  // namespace

absl::Status ErrnoStatus(absl::string_view what, int err) {
  std::string message = std::string(what) + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ESRCH:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case EADDRINUSE:
      return absl::AlreadyExistsError(message);
    case ENOSPC:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
      return absl::ResourceExhaustedError(message);
    case EINVAL:
      return absl::InvalidArgumentError(message);
    case ETIMEDOUT:
      return absl::DeadlineExceededError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status RuntimeEnvSetupError(absl::string_view message) {
  absl::Status status = absl::FailedPreconditionError(message);
  status.SetPayload(kRuntimeEnvSetupPayload, absl::Cord());
  return status;
}

bool IsRuntimeEnvSetupError(const absl::Status& status) {
  return status.GetPayload(kRuntimeEnvSetupPayload).has_value();
}

}  // namespace orrery
