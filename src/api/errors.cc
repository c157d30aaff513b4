#include "src/api/errors.h"

#include "absl/strings/str_cat.h"
#include "orrery/errors.h"
#include "src/core_worker/object_conversion.h"

namespace orrery::api {

void ThrowStoredError(const rpc::ErrorInfo& error) {
  switch (error.type()) {
    case rpc::ErrorInfo::TASK_ERROR: {
      std::string node = NodeId::FromOptionalBinary(error.node_id()).value_or(NodeId()).Hex();
      throw TaskError(error.message() + " (node " + node.substr(0, 8) + ", pid " + std::to_string(error.pid()) + ")",
                      error.exception_type(), error.function(), node, error.pid());
    }
    case rpc::ErrorInfo::FUNCTION_NOT_FOUND:
      throw FunctionNotFoundError(error.message(), error.function());
    case rpc::ErrorInfo::WORKER_CRASHED:
      throw WorkerCrashedError(error.message());
    case rpc::ErrorInfo::OUT_OF_MEMORY:
      throw OutOfMemoryError(error.message());
    case rpc::ErrorInfo::OWNER_DIED:
      throw OwnerDiedError(error.message());
    case rpc::ErrorInfo::OBJECT_TOO_LARGE:
      throw ObjectTooLargeError(error.message());
    case rpc::ErrorInfo::OBJECT_STORE_FULL:
      throw ObjectStoreFullError(error.message());
    case rpc::ErrorInfo::ACTOR_DIED:
      throw ActorDiedError(error.message());
    case rpc::ErrorInfo::UNSCHEDULABLE:
      throw TaskUnschedulableError(error.message());
    case rpc::ErrorInfo::RUNTIME_ENV_SETUP_FAILED:
      throw RuntimeEnvSetupError(error.message());
    case rpc::ErrorInfo::OBJECT_RECONSTRUCTION_FAILED_MAX_ATTEMPTS:
      throw ObjectReconstructionFailedMaxAttemptsExceededError(error.message());
    case rpc::ErrorInfo::OBJECT_RECONSTRUCTION_FAILED_LINEAGE_EVICTED:
      throw ObjectReconstructionFailedLineageEvictedError(error.message());
    case rpc::ErrorInfo::OBJECT_LOST:
    default:
      throw ObjectLostError(error.message());
  }
}

void RaiseGetErrors(const std::vector<ObjectId>& ids, const std::vector<core::Value>& values, int64_t timeout_ms) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] == nullptr) {
      throw GetTimeoutError(absl::StrCat("Get timed out after ", timeout_ms, " ms: object ", ids[i].Hex(),
                                         " is not ready"));
    }
    rpc::ErrorInfo error;
    if (core::IsError(*values[i], &error)) ThrowStoredError(error);
  }
}

void ThrowActorCreationError(const std::string& name, const absl::Status& status) {
  throw OrreryException("creating actor " + (name.empty() ? std::string("(unnamed)") : "'" + name + "'") + ": " +
                        std::string(status.message()));
}

}  // namespace orrery::api
