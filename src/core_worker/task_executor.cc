#include "src/core_worker/task_executor.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "orrery/actor.h"
#include "orrery/internal/function_registry.h"
#include "orrery/internal/runtime.h"
#include "boost/asio/post.hpp"
#include "src/core_worker/invocation.h"
#include "src/core_worker/normal_task_stream.h"
#include "src/core_worker/shared_memory_objects.h"
#include "src/core_worker/object_conversion.h"

namespace orrery::core {

TaskExecutor::TaskExecutor(WorkerId worker_id, NodeId node_id, Hooks hooks, TaskEventBuffer* events)
    : worker_id_(worker_id), node_id_(node_id), hooks_(std::move(hooks)), events_(events) {}

TaskExecutor::~TaskExecutor() {
  if (pool_ != nullptr) pool_->join();
}

// The stream's writes, shared by the stream's thread and the pool's (one write at a time); the
// stream's thread waits for the pool's calls before it returns (the stream ends with it).
class TaskExecutor::StreamWriter {
 public:
  explicit StreamWriter(grpc::ServerReaderWriter<rpc::ResultBatch, rpc::TaskBatch>* stream) : stream_(stream) {}

  bool Write(const rpc::ResultBatch& results) {
    absl::MutexLock lock(&mu_);
    return stream_->Write(results);
  }
  void Started() {
    absl::MutexLock lock(&mu_);
    ++running_;
  }
  void Finished() {
    absl::MutexLock lock(&mu_);
    --running_;
  }
  void WaitForPool() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* running) { return *running == 0; }, &running_));
  }

 private:
  grpc::ServerReaderWriter<rpc::ResultBatch, rpc::TaskBatch>* stream_;
  absl::Mutex mu_;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
};

void TaskExecutor::Serve(grpc::ServerReaderWriter<rpc::ResultBatch, rpc::TaskBatch>* stream) {
  // The first tasks say what the stream carries: an owner's normal tasks, or a caller's calls
  // of the actor held here.
  rpc::TaskBatch first;
  do {
    first.Clear();
    if (!stream->Read(&first)) return;
  } while (first.tasks_size() == 0);
  if (first.tasks(0).actor_id().empty()) {
    NormalTaskStream::Serve(*stream, std::move(first), [this](const rpc::TaskSpec& task) { return Execute(task); });
  } else {
    ServeActorCalls(stream, std::move(first));
  }
}

void TaskExecutor::ServeActorCalls(grpc::ServerReaderWriter<rpc::ResultBatch, rpc::TaskBatch>* stream,
                                   rpc::TaskBatch batch) {
  StreamWriter writer(stream);
  // An actor stream carries one caller's calls.
  std::string caller;
  bool open = true;
  do {
    rpc::ResultBatch results;
    auto last_write = std::chrono::steady_clock::now();
    for (const rpc::TaskSpec& task : batch.tasks()) {
      caller = task.caller_id();
      RunActorCall(task, batch.received_below(), writer, results);
      auto now = std::chrono::steady_clock::now();
      if (results.results_size() > 0 && now - last_write > kMaxResultDelay) {
        if (!writer.Write(results)) open = false;
        results.Clear();
        last_write = now;
        ReportExitIfPending();
        if (!open) break;
      }
    }
    if (open && results.results_size() > 0 && !writer.Write(results)) open = false;
    ReportExitIfPending();
    if (!caller.empty()) Forget(caller, batch.received_below());
    batch.Clear();
  } while (open && stream->Read(&batch));
  writer.WaitForPool();
}

// ---- actors ----

rpc::CreateActorReply TaskExecutor::CreateActor(const rpc::CreateActorRequest& request) {
  RecordRunning(request.creation(), rpc::ACTOR_CREATION_TASK);
  rpc::CreateActorReply reply = RunCreation(request);
  RecordOutcome(request.creation(), rpc::ACTOR_CREATION_TASK, reply.failed() ? &reply.error() : nullptr);
  return reply;
}

rpc::CreateActorReply TaskExecutor::RunCreation(const rpc::CreateActorRequest& request) {
  const rpc::TaskSpec& creation = request.creation();
  rpc::CreateActorReply reply;
  auto fail = [&](rpc::ErrorInfo error) {
    reply.set_failed(true);
    *reply.mutable_error() = std::move(error);
    return reply;
  };
  if (instance_.load() != nullptr) {
    rpc::ErrorInfo error;
    error.set_type(rpc::ErrorInfo::ACTOR_DIED);
    error.set_message("this worker holds an actor already");
    return fail(std::move(error));
  }
  // Each unit is a thread here. SetMaxConcurrency refuses more, but the request comes from a
  // peer: refused before the factory runs, so no actor exists that could not be served.
  if (request.max_concurrency() > kMaxActorConcurrency) {
    rpc::ErrorInfo error;
    error.set_type(rpc::ErrorInfo::ACTOR_DIED);
    error.set_message(absl::StrCat("the actor's max_concurrency ", request.max_concurrency(), " is above the bound of ",
                                   kMaxActorConcurrency, " (orrery::kMaxActorConcurrency)"));
    return fail(std::move(error));
  }
  rpc::ErrorInfo not_found;
  const internal::RemoteFunction* factory = FindRemoteFunction(
      creation.function_name(), creation.signature_hash(), internal::FunctionKind::kActorFactory, &not_found);
  if (factory == nullptr) return fail(std::move(not_found));
  actor_id_ = ActorId::FromOptionalBinary(creation.actor_id()).value_or(ActorId());
  actor_restarts_ = request.num_restarts();
  std::vector<Value> args = hooks_.resolve_args(creation);
  for (const Value& arg : args) {
    rpc::ErrorInfo upstream;
    if (IsError(*arg, &upstream)) return fail(std::move(upstream));
  }
  hooks_.set_current_task(&creation);
  Invocation created = Invoke(*factory, nullptr, args, actor_id_);
  hooks_.set_current_task(nullptr);
  if (created.error.has_value()) return fail(std::move(*created.error));
  void* instance = created.instance;
  max_concurrency_ = std::max(1, request.max_concurrency());
  if (max_concurrency_ > 1) pool_ = std::make_unique<boost::asio::thread_pool>(max_concurrency_);
  instance_ = instance;
  return reply;
}

void TaskExecutor::RunActorCall(const rpc::TaskSpec& task, int64_t received_below, StreamWriter& writer,
                                rpc::ResultBatch& results) {
  int64_t sequence = task.sequence_number();
  {
    absl::MutexLock lock(&callers_mu_);
    Caller& caller = callers_[task.caller_id()];
    if (!caller.seen) {
      // A caller new to this process starts at its first unanswered call.
      caller.seen = true;
      caller.next = received_below;
    }
    if (sequence < caller.next) {
      // Resent after a cut connection: answer from the cache (once the run in progress ends).
      while (caller.running.contains(sequence)) caller_changed_.Wait(&callers_mu_);
      auto it = caller.done.find(sequence);
      if (it != caller.done.end()) *results.add_results() = it->second;
      return;
    }
    caller.next = sequence + 1;
    caller.running.insert(sequence);
  }
  auto finish = [this, caller_id = task.caller_id(), sequence](const rpc::TaskResult& result) {
    absl::MutexLock lock(&callers_mu_);
    Caller& caller = callers_[caller_id];
    caller.running.erase(sequence);
    caller.done[sequence] = result;
    caller_changed_.SignalAll();
  };
  if (pool_ == nullptr) {
    rpc::TaskResult result;
    {
      absl::MutexLock lock(&actor_mu_);
      result = ExecuteActorCall(task);
    }
    finish(result);
    *results.add_results() = std::move(result);
    return;
  }
  writer.Started();
  boost::asio::post(*pool_, [this, task, &writer, finish] {
    rpc::TaskResult result = ExecuteActorCall(task);
    finish(result);
    rpc::ResultBatch single;
    *single.add_results() = std::move(result);
    writer.Write(single);
    ReportExitIfPending();
    writer.Finished();
  });
}

rpc::TaskResult TaskExecutor::ExecuteActorCall(const rpc::TaskSpec& task) {
  if (exited_.load()) {
    rpc::ErrorInfo error = ActorExitedErrorInfo(actor_id_, task.function_name(), /*in_function=*/false);
    return Failed(task, error);
  }
  return Execute(task);
}

void TaskExecutor::Forget(const std::string& caller_id, int64_t received_below) {
  absl::MutexLock lock(&callers_mu_);
  auto it = callers_.find(caller_id);
  if (it == callers_.end()) return;
  auto& done = it->second.done;
  done.erase(done.begin(), done.lower_bound(received_below));
}

void TaskExecutor::ReportExitIfPending() {
  if (!exited_.load() || exit_reported_.exchange(true)) return;
  if (hooks_.on_actor_exit) hooks_.on_actor_exit(actor_id_);
}

rpc::TaskResult TaskExecutor::Failed(const rpc::TaskSpec& task, rpc::ErrorInfo& error) const {
  rpc::TaskResult result;
  result.set_task_id(task.task_id());
  result.set_attempt(task.attempt());
  result.set_sequence_number(task.sequence_number());
  // An error that happened here says where; one passed on from an argument keeps its origin.
  if (error.node_id().empty()) {
    error.set_node_id(node_id_.Binary());
    error.set_worker_id(worker_id_.Binary());
    error.set_pid(getpid());
  }
  ToWire(*ErrorValue(error), result.mutable_value());
  return result;
}

void TaskExecutor::RecordRunning(const rpc::TaskSpec& task, rpc::TaskKind kind) {
  if (events_ != nullptr) events_->Record(task, kind, rpc::RUNNING, node_id_, worker_id_);
}

void TaskExecutor::RecordOutcome(const rpc::TaskSpec& task, rpc::TaskKind kind, const rpc::ErrorInfo* error) {
  if (events_ == nullptr) return;
  if (error == nullptr) {
    events_->Record(task, kind, rpc::FINISHED, node_id_, worker_id_);
  } else {
    events_->RecordFailure(task, kind, *error, node_id_, worker_id_);
  }
}

rpc::TaskResult TaskExecutor::Execute(const rpc::TaskSpec& task) {
  rpc::TaskKind kind = KindOf(task, /*is_creation=*/false);
  RecordRunning(task, kind);
  std::optional<rpc::ErrorInfo> failure;
  rpc::TaskResult result = Run(task, failure);
  RecordOutcome(task, kind, failure.has_value() ? &*failure : nullptr);
  return result;
}

rpc::TaskResult TaskExecutor::Run(const rpc::TaskSpec& task, std::optional<rpc::ErrorInfo>& failure) {
  rpc::TaskResult result;
  result.set_task_id(task.task_id());
  result.set_attempt(task.attempt());
  result.set_sequence_number(task.sequence_number());
  auto fail = [&](rpc::ErrorInfo error) {
    rpc::TaskResult failed = Failed(task, error);
    failure = std::move(error);
    return failed;
  };

  bool actor_call = !task.actor_id().empty();
  void* instance = instance_.load();
  if (actor_call && instance == nullptr) {
    rpc::ErrorInfo error;
    error.set_type(rpc::ErrorInfo::ACTOR_DIED);
    error.set_function(task.function_name());
    error.set_message(absl::StrCat("the worker (pid ", getpid(), ") that received a call of ", task.function_name(),
                                   " holds no actor"));
    return fail(std::move(error));
  }
  auto expected = actor_call ? internal::FunctionKind::kActorMethod : internal::FunctionKind::kFunction;
  rpc::ErrorInfo not_found;
  const internal::RemoteFunction* function =
      FindRemoteFunction(task.function_name(), task.signature_hash(), expected, &not_found);
  if (function == nullptr) return fail(std::move(not_found));

  std::vector<Value> args = hooks_.resolve_args(task);
  for (const Value& arg : args) {
    rpc::ErrorInfo upstream;
    if (IsError(*arg, &upstream)) return fail(std::move(upstream));
  }

  hooks_.set_current_task(&task);
  Invocation invoked = Invoke(*function, instance, args, actor_id_);
  hooks_.set_current_task(nullptr);
  if (invoked.exited) exited_ = true;
  if (invoked.error.has_value()) return fail(std::move(*invoked.error));
  internal::SerializedValue value = std::move(invoked.value);
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
