// The errors an owner's task submitter stores for tasks it gives up on (task_submitter.cc and
// task_submitter_deaths.cc).
#pragma once

#include <string>

#include "absl/strings/str_cat.h"
#include "orrery/core_worker.pb.h"
#include "src/common/placement_group.h"

namespace orrery::core {

inline rpc::ErrorInfo RemovedGroupError(const PlacementGroupId& group) {
  rpc::ErrorInfo error;
  error.set_type(rpc::ErrorInfo::UNSCHEDULABLE);
  error.set_message("placement group " + group.Hex() + " was removed");
  return error;
}

inline rpc::ErrorInfo CrashError(const std::string& message) {
  rpc::ErrorInfo error;
  error.set_type(rpc::ErrorInfo::WORKER_CRASHED);
  error.set_message(message);
  return error;
}

// `task`'s worker was killed by its node's memory monitor (`detail` says where and how full).
inline rpc::ErrorInfo OutOfMemoryError(const rpc::TaskSpec& task, const std::string& detail) {
  rpc::ErrorInfo error;
  error.set_type(rpc::ErrorInfo::OUT_OF_MEMORY);
  error.set_function(task.function_name());
  error.set_message(absl::StrCat("task ", task.name().empty() ? task.function_name() : task.name(), " (",
                                 task.function_name(), ") ran out of memory: ", detail));
  return error;
}

}  // namespace orrery::core
