#include "src/state/timeline.h"

#include <algorithm>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "src/common/id.h"

namespace orrery::state {

namespace {

template <typename Id>
std::string HexOf(const std::string& binary) {
  auto id = Id::FromBinary(binary);
  return id.ok() ? id->Hex() : "unknown";
}

// Whether `text` goes into JSON between quotes as it is: printable ASCII without '"' or '\'.
// Function names and hex ids always do.
bool PlainJsonText(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
}

// `text` as a JSON string; anything else than plain text (quotes, control characters, UTF-8,
// bytes that are not UTF-8, shown as U+FFFD) through nlohmann's escaping.
void AppendJsonString(std::string& out, const std::string& text) {
  if (PlainJsonText(text)) {
    absl::StrAppend(&out, "\"", text, "\"");
  } else {
    out += nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

// The trace's events, each after a comma but the first.
class EventWriter {
 public:
  explicit EventWriter(std::string& out) : out_(out) {}
  std::string& Next() {
    if (!first_) out_ += ',';
    first_ = false;
    return out_;
  }

 private:
  std::string& out_;
  bool first_ = true;
};

// Small integer ids from 1, in the order of first use, with a metadata event naming each.
template <typename Id>
class Numbering {
 public:
  Numbering(const char* metadata_name, const char* label) : metadata_name_(metadata_name), label_(label) {}

  // The number of the id `binary`; a new one writes the event naming it (in the process `pid`,
  // or, for a process, its own number).
  int64_t Of(const std::string& binary, int64_t pid, EventWriter& events) {
    auto [it, added] = numbers_.emplace(binary, static_cast<int64_t>(numbers_.size()) + 1);
    if (added) {
      std::string& out = events.Next();
      absl::StrAppend(&out, R"({"name":")", metadata_name_, R"(","ph":"M","pid":)", pid == 0 ? it->second : pid);
      if (pid != 0) absl::StrAppend(&out, R"(,"tid":)", it->second);
      absl::StrAppend(&out, R"(,"args":{"name":")", label_, " ", HexOf<Id>(binary), "\"}}");
    }
    return it->second;
  }

 private:
  const char* metadata_name_;
  const char* label_;
  absl::flat_hash_map<std::string, int64_t> numbers_;
};

}  // namespace

std::string TimelineJson(const rpc::GetTaskEventsReply& events, int64_t now_us) {
  std::string out = R"({"traceEvents":[)";
  out.reserve(events.tasks_size() * 230);
  EventWriter writer(out);
  Numbering<NodeId> nodes("process_name", "node");
  // Numbered across the cluster, as worker ids are unique in it.
  Numbering<WorkerId> workers("thread_name", "worker");
  for (const rpc::TaskAttempt& task : events.tasks()) {
    if (task.running_us() <= 0) continue;
    const int64_t pid = nodes.Of(task.node_id(), 0, writer);
    const int64_t tid = workers.Of(task.worker_id(), pid, writer);
    const int64_t end_us = task.ended_us() > 0 ? task.ended_us() : now_us;
    std::string& event = writer.Next();
    event += R"({"name":)";
    AppendJsonString(event, task.function_name().empty() ? task.name() : task.function_name());
    absl::StrAppend(&event, R"(,"cat":")", rpc::TaskKind_Name(task.kind()), R"(","ph":"X","ts":)", task.running_us(),
                    R"(,"dur":)", std::max<int64_t>(0, end_us - task.running_us()), R"(,"pid":)", pid,
                    R"(,"tid":)", tid);
    // The node and the worker are the event's process and thread, named by their metadata.
    absl::StrAppend(&event, R"(,"args":{"task_id":")", HexOf<TaskId>(task.task_id()), R"(","attempt":)",
                    task.attempt(), R"(,"state":")", rpc::TaskState_Name(task.state()), R"(","job_id":")",
                    HexOf<JobId>(task.job_id()), "\"");
    if (!task.name().empty()) {
      event += R"(,"name":)";
      AppendJsonString(event, task.name());
    }
    if (!task.error_type().empty()) {
      event += R"(,"error_type":)";
      AppendJsonString(event, task.error_type());
    }
    event += "}}";
  }
  out += R"(],"displayTimeUnit":"ms"})";
  return out;
}

int64_t CountTaskRuns(const rpc::GetTaskEventsReply& events) {
  return std::count_if(events.tasks().begin(), events.tasks().end(),
                       [](const rpc::TaskAttempt& task) { return task.running_us() > 0; });
}

}  // namespace orrery::state
