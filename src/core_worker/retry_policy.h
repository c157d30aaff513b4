// When a failed attempt of a task or actor call is tried again: within the call's retry budget
// (SetMaxRetries, else the submitter's default), after a system failure, or after an exception
// the call asked to retry (SetRetryExceptions).
#pragma once

#include <algorithm>

#include "orrery/core_worker.pb.h"

namespace orrery::core {

// A task's retries after a system failure unless it sets its own (SetMaxRetries): Ray's
// default in Python (its C++ API submits with 1).
inline constexpr int kDefaultTaskRetries = 3;

// The retries `task` may have after a system failure: its own (SetMaxRetries), else
// `default_retries`. -1: forever.
int RetryBudget(const rpc::TaskSpec& task, int default_retries);

// Whether attempt number `next_attempt` (the first attempt is 0) is within `budget` retries.
inline bool WithinRetries(int next_attempt, int budget) { return budget < 0 || next_attempt <= budget; }

// Whether `thrown`, the error an attempt answered, is an exception that a call asking to retry
// exceptions (`retry_exceptions`) of `types` (empty: of any type) retries.
template <typename Types>
bool RetriesException(bool retry_exceptions, const Types& types, const rpc::ErrorInfo& thrown) {
  if (!retry_exceptions || thrown.type() != rpc::ErrorInfo::TASK_ERROR) return false;
  return types.empty() || std::find(types.begin(), types.end(), thrown.exception_type()) != types.end();
}

// Whether `result`, the value an attempt of `task` answered, is an exception the task asked to
// retry (SetRetryExceptions); if so, `error` is set to it.
bool IsRetriedException(const rpc::TaskSpec& task, const rpc::SerializedObject& result, rpc::ErrorInfo* error);

}  // namespace orrery::core
