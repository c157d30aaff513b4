/// Every exception the Orrery API throws. Inside the runtime errors are statuses; they become
/// these types in one place (src/api/exceptions.cc). The table in docs/errors.md lists each
/// error, its parent, its `ray::internal` name in ray_compat, and the step that raises it.
///
///   try {
///     auto value = orrery::Get(ref);
///   } catch (const orrery::TaskError& e) {
///     std::cerr << e.exception_type() << " in " << e.function() << ": " << e.what();
///   }
#pragma once

#include <stdexcept>
#include <string>

#include "orrery/export.h"

namespace orrery {

/// The root of every Orrery error (ray::internal::RayException).
class ORRERY_EXPORT OrreryException : public std::runtime_error {
 public:
  explicit OrreryException(const std::string& message) : std::runtime_error(message), msg_(message) {}
  /// The message, as what() returns it (Ray's exceptions have this field; ray_compat code reads it).
  std::string msg_;
};

/// A remote function threw, or its arguments could not be read (ray::internal::RayTaskException).
/// Raised by Get of the task's result.
class ORRERY_EXPORT TaskError : public OrreryException {
 public:
  /// A task error with only a message (Ray's RayTaskException(msg)): no type, function or node.
  explicit TaskError(const std::string& message) : TaskError(message, "", "", "", 0) {}
  TaskError(const std::string& message, std::string exception_type, std::string function, std::string node,
            int pid)
      : OrreryException(message),
        exception_type_(std::move(exception_type)),
        function_(std::move(function)),
        node_(std::move(node)),
        pid_(pid) {}
  /// The demangled type of the exception the function threw, e.g. "std::logic_error".
  const std::string& exception_type() const { return exception_type_; }
  /// The registered name of the function.
  const std::string& function() const { return function_; }
  /// The node (hex id) and process the task ran in.
  const std::string& node() const { return node_; }
  int pid() const { return pid_; }

 private:
  std::string exception_type_;
  std::string function_;
  std::string node_;
  int pid_;
};

/// No such remote function: raised at once by Task() for a function that was never registered
/// with ORRERY_REMOTE, and by Get when the worker that ran the task lacks it (or registered it
/// with other parameter types). Beside TaskError, not under it, as Ray's RayFunctionNotFound is
/// beside RayTaskException.
class ORRERY_EXPORT FunctionNotFoundError : public OrreryException {
 public:
  /// Ray's constructor: a message only.
  explicit FunctionNotFoundError(const std::string& message) : OrreryException(message) {}
  FunctionNotFoundError(const std::string& message, std::string function)
      : OrreryException(message), function_(std::move(function)) {}
  /// The registered name of the function ("" when Task() was given one never registered).
  const std::string& function() const { return function_; }

 private:
  std::string function_;
};

/// The worker running the task died, and its retries ran out (ray::internal::RayWorkerException).
class ORRERY_EXPORT WorkerCrashedError : public OrreryException {
 public:
  using OrreryException::OrreryException;
};

/// The node's memory monitor killed the task's worker (the host's memory use was over its
/// threshold), and its retries ran out. The message names the node, the threshold, the host's
/// use, the pid and the task.
class ORRERY_EXPORT OutOfMemoryError : public OrreryException {
 public:
  using OrreryException::OrreryException;
};

/// No node may run the task: its hard node affinity (SchedulingStrategy::NodeAffinity) names a
/// node that is dead or unknown (the message names it).
class ORRERY_EXPORT TaskUnschedulableError : public OrreryException {
 public:
  using OrreryException::OrreryException;
};

/// A node could not set up the task's runtime environment: it could not fetch or unpack the
/// job's working_dir (Config::working_dir). The message names the node, its address and the
/// cause. Tasks queued with it fail too, as in Ray (an actor that cannot be set up dies, and
/// calls to it raise ActorDiedError with the same reason).
class ORRERY_EXPORT RuntimeEnvSetupError : public OrreryException {
 public:
  using OrreryException::OrreryException;
};

/// The actor died for good, so a call to it cannot run (ray::internal::RayActorException).
/// Raised by Get of the result of a call to an actor that was killed, exited (ExitActor()),
/// whose factory or constructor threw, or whose process, node or owner died, with no restarts
/// left. The message says which, and why.
class ORRERY_EXPORT ActorDiedError : public OrreryException {
 public:
  using OrreryException::OrreryException;
};

/// The object's value is gone and cannot be recovered (ray::internal::UnreconstructableException).
class ORRERY_EXPORT ObjectLostError : public OrreryException {
 public:
  using OrreryException::OrreryException;
};

/// The object's owner (the process that created it) died, taking the value with it.
class ORRERY_EXPORT OwnerDiedError : public ObjectLostError {
 public:
  using ObjectLostError::ObjectLostError;
};

/// Every copy of the object was lost (its node died) and its owner re-ran the task that made
/// it as often as the task's retries allow (SetMaxRetries); the message names the object, its
/// owner and the task.
class ORRERY_EXPORT ObjectReconstructionFailedMaxAttemptsExceededError : public ObjectLostError {
 public:
  using ObjectLostError::ObjectLostError;
};

/// Every copy of the object was lost and its owner no longer keeps the task that made it: its
/// lineage went to keep the owner within Config::max_lineage_bytes.
class ORRERY_EXPORT ObjectReconstructionFailedLineageEvictedError : public ObjectLostError {
 public:
  using ObjectLostError::ObjectLostError;
};

/// A value is larger than the node's whole object store (the message names both sizes).
/// Raised by Put, Remote() for a too-large argument, and Get of a task whose result was.
class ORRERY_EXPORT ObjectTooLargeError : public OrreryException {
 public:
  using OrreryException::OrreryException;
};

/// The node's object store had no room for a value, even after waiting, evicting copies and
/// spilling to disk (the message names the size asked and the space in use). Raised by Put,
/// Remote() for a large argument, and Get of a task whose result did not fit.
class ORRERY_EXPORT ObjectStoreFullError : public OrreryException {
 public:
  using OrreryException::OrreryException;
};

/// Get(ref, timeout_ms) ran out of time; the ref stays usable (ray::internal::RayTimeoutException).
class ORRERY_EXPORT GetTimeoutError : public OrreryException {
 public:
  using OrreryException::OrreryException;
};

}  // namespace orrery
