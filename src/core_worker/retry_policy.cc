#include "src/core_worker/retry_policy.h"

namespace orrery::core {

int RetryBudget(const rpc::TaskSpec& task, int default_retries) {
  return task.has_max_retries() ? task.max_retries() : default_retries;
}

bool IsRetriedException(const rpc::TaskSpec& task, const rpc::SerializedObject& result, rpc::ErrorInfo* error) {
  if (!task.retry_exceptions() || result.format() != rpc::SerializedObject::ERROR) return false;
  rpc::ErrorInfo thrown;
  if (!thrown.ParseFromString(result.payload())) return false;
  if (!RetriesException(task.retry_exceptions(), task.retry_exception_types(), thrown)) return false;
  *error = std::move(thrown);
  return true;
}

}  // namespace orrery::core
