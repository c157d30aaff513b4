#include "src/core_worker/task_executor.h"

#include <cxxabi.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "orrery/internal/function_registry.h"
#include "src/core_worker/shared_memory_objects.h"
#include "src/core_worker/object_conversion.h"

namespace orrery::core {

namespace {
// Results are written at the end of each batch, or sooner once this much time has passed.
constexpr auto kMaxResultDelay = std::chrono::milliseconds(2);
}  // namespace

std::string CurrentExceptionTypeName() {
  std::type_info* type = abi::__cxa_current_exception_type();
  if (type == nullptr) return "unknown exception";
  int status = 0;
  char* demangled = abi::__cxa_demangle(type->name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled != nullptr ? demangled : type->name();
  std::free(demangled);
  return name;
}

TaskExecutor::TaskExecutor(WorkerId worker_id, NodeId node_id, Hooks hooks)
    : worker_id_(worker_id), node_id_(node_id), hooks_(std::move(hooks)) {}

void TaskExecutor::Serve(grpc::ServerReaderWriter<rpc::ResultBatch, rpc::TaskBatch>* stream) {
  rpc::TaskBatch batch;
  while (stream->Read(&batch)) {
    rpc::ResultBatch results;
    auto last_write = std::chrono::steady_clock::now();
    for (const rpc::TaskSpec& task : batch.tasks()) {
      *results.add_results() = Execute(task);
      auto now = std::chrono::steady_clock::now();
      if (now - last_write > kMaxResultDelay) {
        if (!stream->Write(results)) return;
        results.Clear();
        last_write = now;
      }
    }
    if (results.results_size() > 0 && !stream->Write(results)) return;
    batch.Clear();
  }
}

rpc::ErrorInfo TaskExecutor::TaskError(const rpc::TaskSpec& task, const std::string& type,
                                       const std::string& what) const {
  rpc::ErrorInfo error;
  error.set_type(rpc::ErrorInfo::TASK_ERROR);
  error.set_exception_type(type);
  error.set_function(task.function_name());
  error.set_message(absl::StrCat("An exception was thrown while executing function(", task.function_name(), "): ",
                                 type, what.empty() ? "" : ": ", what));
  return error;
}

rpc::TaskResult TaskExecutor::Execute(const rpc::TaskSpec& task) {
  rpc::TaskResult result;
  result.set_task_id(task.task_id());
  result.set_attempt(task.attempt());
  auto fail = [&](rpc::ErrorInfo error) {
    // An error that happened here says where; one passed on from an argument keeps its origin.
    if (error.node_id().empty()) {
      error.set_node_id(node_id_.Binary());
      error.set_worker_id(worker_id_.Binary());
      error.set_pid(getpid());
    }
    ToWire(*ErrorValue(error), result.mutable_value());
    return result;
  };

  const internal::RemoteFunction* function = internal::FunctionRegistry::Instance().Find(task.function_name());
  if (function == nullptr || function->signature_hash != task.signature_hash()) {
    rpc::ErrorInfo error;
    error.set_type(rpc::ErrorInfo::FUNCTION_NOT_FOUND);
    error.set_function(task.function_name());
    error.set_message(absl::StrCat(
        "function ", task.function_name(),
        function == nullptr ? " is not registered in this worker"
                            : " is registered in this worker with other parameter or return types",
        " (pid ", getpid(), "); ray::internal::RayFunctionNotFound: Executable function not found, the function name ",
        task.function_name()));
    return fail(std::move(error));
  }

  std::vector<Value> args = hooks_.resolve_args(task);
  for (const Value& arg : args) {
    rpc::ErrorInfo upstream;
    if (IsError(*arg, &upstream)) return fail(std::move(upstream));
  }

  hooks_.set_current_task(&task);
  internal::SerializedValue value;
  try {
    value = function->invoke(args);
  } catch (const internal::ArgumentError& e) {
    hooks_.set_current_task(nullptr);
    return fail(TaskError(task, "orrery::ArgumentError", e.what()));
  } catch (const std::exception& e) {
    hooks_.set_current_task(nullptr);
    return fail(TaskError(task, CurrentExceptionTypeName(), e.what()));
  } catch (...) {
    hooks_.set_current_task(nullptr);
    return fail(TaskError(task, CurrentExceptionTypeName(), ""));
  }
  hooks_.set_current_task(nullptr);
  if (!value.contained_refs.empty()) hooks_.hand_over(value, task.owner());
  if (hooks_.store_result) {
    absl::StatusOr<Value> marker = hooks_.store_result(task, value);
    if (!marker.ok()) {
      rpc::ErrorInfo error = SharedMemoryObjects::ToErrorInfo(marker.status());
      error.set_function(task.function_name());
      error.set_message(absl::StrCat("the result of ", task.function_name(), ": ", error.message()));
      return fail(std::move(error));
    }
    if (*marker != nullptr) {
      ToWire(**marker, result.mutable_value());
      return result;
    }
  }
  ToWire(value, result.mutable_value());
  return result;
}

}  // namespace orrery::core
