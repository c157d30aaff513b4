#include "src/core_worker/task_event_buffer.h"

#include <chrono>

#include "google/protobuf/arena.h"
#include "src/common/log.h"

namespace orrery::core {

namespace {

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

rpc::TaskKind KindOf(const rpc::TaskSpec& task, bool is_creation) {
  if (is_creation) return rpc::ACTOR_CREATION_TASK;
  return task.actor_id().empty() ? rpc::NORMAL_TASK : rpc::ACTOR_TASK;
}

std::string ErrorTypeName(const rpc::ErrorInfo& error) {
  std::string type = rpc::ErrorInfo::Type_Name(error.type());
  return error.exception_type().empty() ? type : type + " " + error.exception_type();
}

TaskEventBuffer::TaskEventBuffer(JobId job_id, Options options, Send send)
    : job_id_(job_id), options_(options), send_(std::move(send)) {}

TaskEventBuffer::~TaskEventBuffer() { Stop(); }

void TaskEventBuffer::Start() {
  if (!options_.enabled) return;
  thread_ = std::thread([this] {
    while (!stop_requested_.WaitForNotificationWithTimeout(absl::Milliseconds(options_.period_ms))) Flush();
  });
}

void TaskEventBuffer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_requested_.Notify();
  if (thread_.joinable()) thread_.join();
  Flush();
}

TaskEventBuffer::Event TaskEventBuffer::EventOf(const rpc::TaskSpec& task, rpc::TaskKind kind,
                                                rpc::TaskState state) const {
  Event event;
  event.task_id = TaskId::FromBinary(task.task_id()).value_or(TaskId::Nil());
  event.job_id = JobId::FromBinary(task.job_id()).value_or(job_id_);
  event.attempt = task.attempt();
  event.state = state;
  event.kind = kind;
  event.time_us = NowUs();
  if (state == rpc::SUBMITTED) {
    event.function_name = task.function_name();
    event.name = task.name();
    event.actor_id = task.actor_id();
  }
  return event;
}

void TaskEventBuffer::ToProto(const Event& event, rpc::TaskEvent* out) {
  // Empty fields stay unset, and ids are copied from their bytes, not through a string: what
  // sending a batch costs is mostly allocation.
  if (!event.task_id.IsNil()) out->set_task_id(event.task_id.data(), TaskId::kSize);
  if (!event.job_id.IsNil()) out->set_job_id(event.job_id.data(), JobId::kSize);
  if (!event.node_id.IsNil()) out->set_node_id(event.node_id.data(), NodeId::kSize);
  if (!event.worker_id.IsNil()) out->set_worker_id(event.worker_id.data(), WorkerId::kSize);
  out->set_attempt(event.attempt);
  out->set_state(event.state);
  out->set_time_us(event.time_us);
  out->set_kind(event.kind);
  if (!event.function_name.empty()) out->set_function_name(event.function_name);
  if (!event.name.empty()) out->set_name(event.name);
  if (!event.actor_id.empty()) out->set_actor_id(event.actor_id);
  if (!event.error_type.empty()) out->set_error_type(event.error_type);
  if (!event.error_message.empty()) out->set_error_message(event.error_message);
}

void TaskEventBuffer::Record(const rpc::TaskSpec& task, rpc::TaskKind kind, rpc::TaskState state) {
  if (!options_.enabled) return;
  Add(EventOf(task, kind, state));
}

void TaskEventBuffer::Record(const rpc::TaskSpec& task, rpc::TaskKind kind, rpc::TaskState state,
                             const NodeId& node, const WorkerId& worker) {
  if (!options_.enabled) return;
  Event event = EventOf(task, kind, state);
  event.node_id = node;
  event.worker_id = worker;
  Add(std::move(event));
}

void TaskEventBuffer::RecordFailure(const rpc::TaskSpec& task, rpc::TaskKind kind, const rpc::ErrorInfo& error,
                                    const NodeId& node, const WorkerId& worker) {
  if (!options_.enabled) return;
  Event event = EventOf(task, kind, rpc::FAILED);
  event.node_id = node;
  event.worker_id = worker;
  event.error_type = ErrorTypeName(error);
  event.error_message = error.message();
  Add(std::move(event));
}

void TaskEventBuffer::Add(Event event) {
  absl::MutexLock lock(&mu_);
  if (events_.size() >= options_.capacity) {
    ++dropped_;
    return;
  }
  events_.push_back(std::move(event));
}

void TaskEventBuffer::Flush() {
  absl::MutexLock sending(&send_mu_);
  // A batch is thousands of small messages built and freed together: an arena's work.
  google::protobuf::Arena arena;
  auto* request = google::protobuf::Arena::CreateMessage<rpc::AddTaskEventsRequest>(&arena);
  std::vector<Event> events;
  {
    absl::MutexLock lock(&mu_);
    if (events_.empty() && dropped_ == 0) return;
    events.swap(events_);
    // The next period's events go where these were, without growing the vector again.
    events_.reserve(events.size());
    request->set_dropped(dropped_);
    dropped_ = 0;
  }
  request->mutable_events()->Reserve(static_cast<int>(events.size()));
  for (const Event& event : events) ToProto(event, request->add_events());
  request->set_job_id(job_id_.Binary());
  if (absl::Status status = send_(*request); !status.ok()) {
    // Lost, but not silently: the next batch counts them.
    spdlog::debug("task events not sent ({} of them): {}", request->events_size(), status.message());
    absl::MutexLock lock(&mu_);
    dropped_ += request->events_size() + request->dropped();
  }
}

}  // namespace orrery::core
