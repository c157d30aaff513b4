#include "src/core_worker/task_event_buffer.h"

#include <chrono>

#include "src/common/log.h"

namespace orrery::core {

namespace {

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

rpc::TaskEvent EventOf(const rpc::TaskSpec& task, rpc::TaskKind kind, rpc::TaskState state) {
  rpc::TaskEvent event;
  event.set_task_id(task.task_id());
  event.set_attempt(task.attempt());
  event.set_job_id(task.job_id());
  event.set_state(state);
  event.set_time_us(NowUs());
  event.set_kind(kind);
  if (state == rpc::SUBMITTED) {
    // The rest is the same for every event of the task: sent once.
    event.set_function_name(task.function_name());
    event.set_name(task.name());
    event.set_actor_id(task.actor_id());
  }
  return event;
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

void TaskEventBuffer::Record(const rpc::TaskSpec& task, rpc::TaskKind kind, rpc::TaskState state) {
  if (!options_.enabled) return;
  Add(EventOf(task, kind, state));
}

void TaskEventBuffer::Record(const rpc::TaskSpec& task, rpc::TaskKind kind, rpc::TaskState state,
                             const std::string& node_id, const std::string& worker_id) {
  if (!options_.enabled) return;
  rpc::TaskEvent event = EventOf(task, kind, state);
  event.set_node_id(node_id);
  event.set_worker_id(worker_id);
  Add(std::move(event));
}

void TaskEventBuffer::RecordFailure(const rpc::TaskSpec& task, rpc::TaskKind kind, const rpc::ErrorInfo& error,
                                    const std::string& node_id, const std::string& worker_id) {
  if (!options_.enabled) return;
  rpc::TaskEvent event = EventOf(task, kind, rpc::FAILED);
  event.set_node_id(node_id);
  event.set_worker_id(worker_id);
  event.set_error_type(ErrorTypeName(error));
  event.set_error_message(error.message());
  Add(std::move(event));
}

void TaskEventBuffer::Add(rpc::TaskEvent event) {
  absl::MutexLock lock(&mu_);
  if (events_.size() >= options_.capacity) {
    ++dropped_;
    return;
  }
  events_.push_back(std::move(event));
}

void TaskEventBuffer::Flush() {
  absl::MutexLock sending(&send_mu_);
  rpc::AddTaskEventsRequest request;
  {
    absl::MutexLock lock(&mu_);
    if (events_.empty() && dropped_ == 0) return;
    request.mutable_events()->Reserve(static_cast<int>(events_.size()));
    for (rpc::TaskEvent& event : events_) *request.add_events() = std::move(event);
    events_.clear();
    request.set_dropped(dropped_);
    dropped_ = 0;
  }
  request.set_job_id(job_id_.Binary());
  if (absl::Status status = send_(request); !status.ok()) {
    // Lost, but not silently: the next batch counts them.
    spdlog::debug("task events not sent ({} of them): {}", request.events_size(), status.message());
    absl::MutexLock lock(&mu_);
    dropped_ += request.events_size() + request.dropped();
  }
}

}  // namespace orrery::core
